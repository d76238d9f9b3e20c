import * as T from '@tessera/core';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { cpu, expectClose, randInt, randomData, rng } from './helpers.js';

type Float = 'float32' | 'float64';

/** A tensor on `device` holding data of `shape`, made non-contiguous by a transpose when `strided`. */
function make(device: string, data: Float64Array, shape: number[], dtype: Float, strided: boolean): T.Tensor {
  const n = shape.length;
  if (!strided || n < 2) return T.tensor(Array.from(data), { dtype, device }).reshape(shape);
  const tshape = [...shape];
  [tshape[n - 1], tshape[n - 2]] = [tshape[n - 2]!, tshape[n - 1]!];
  return T.tensor(Array.from(data), { dtype, device }).reshape(tshape).transpose(-1, -2);
}

function cases(seed: number) {
  const r = rng(seed);
  const shape = Array.from({ length: randInt(r, 1, 3) }, () => randInt(r, 1, 9));
  if (r() < 0.3) shape[shape.length - 1] = randInt(r, 30, 70);
  const data = Float64Array.from(randomData(r, 'float64', shape.reduce((a, b) => a * b, 1), -5, 5));
  return { r, shape, data, strided: r() < 0.5 };
}

describe('cpu fused kernels match the composed reference ops', () => {
  it.each(['float32', 'float64'] as Float[])('softmax and logSoftmax over any dim (%s)', (dtype) => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const { r, shape, data, strided } = cases(seed);
        if (r() < 0.2) data[0] = -Infinity;
        const dim = randInt(r, -shape.length, shape.length - 1);
        const [xc, xr] = [make('cpu', data, shape, dtype, strided), make('reference', data, shape, dtype, strided)];
        const tol = dtype === 'float32' ? 2e-6 : 1e-13;
        expectClose(xc.softmax(dim).dataSync(), xr.softmax(dim).dataSync(), tol, tol, `softmax [${shape}] dim ${dim}`);
        expectClose(xc.logSoftmax(dim).dataSync(), xr.logSoftmax(dim).dataSync(), tol, tol, `logSoftmax [${shape}] dim ${dim}`);
      }),
      { numRuns: 25 },
    );
  });

  it.each(['float32', 'float64'] as Float[])('layerNorm and rmsNorm with and without affine params (%s)', (dtype) => {
    fc.assert(
      fc.property(fc.integer(), fc.boolean(), fc.boolean(), (seed, withW, withB) => {
        const { r, shape, data, strided } = cases(seed);
        const n = shape.at(-1)!;
        const wd = Float64Array.from(randomData(r, 'float64', n, 0.5, 1.5));
        const bd = Float64Array.from(randomData(r, 'float64', n, -1, 1));
        const on = (device: string) => ({
          x: make(device, data, shape, dtype, strided),
          w: withW ? T.tensor(Array.from(wd), { dtype, device }) : null,
          b: withB ? T.tensor(Array.from(bd), { dtype, device }) : null,
        });
        const [c, f] = [on('cpu'), on('reference')];
        const tol = dtype === 'float32' ? 3e-5 : 1e-12;
        expectClose(T.layerNorm(c.x, [n], c.w, c.b).dataSync(), T.layerNorm(f.x, [n], f.w, f.b).dataSync(), tol, tol, `layerNorm [${shape}]`);
        expectClose(T.rmsNorm(c.x, [n], c.w, 1e-6).dataSync(), T.rmsNorm(f.x, [n], f.w, 1e-6).dataSync(), tol, tol, `rmsNorm [${shape}]`);
      }),
      { numRuns: 25 },
    );
  });

  it('the backend exposes the fused kernels core looks for', () => {
    for (const k of ['softmax', 'layerNorm', 'rmsNorm'] as const) if (typeof cpu.fused[k] !== 'function') throw new Error(`missing fused.${k}`);
  });
});
