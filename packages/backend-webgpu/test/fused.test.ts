/**
 * Fused kernels against core's composed definitions on the reference backend, and gradients (which core composes
 * from primitives) against the reference backend's float64 gradients at float32 tolerances: WGSL has no float64,
 * so a finite-difference gradcheck in float32 would be noise.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { layerNorm, rmsNorm, scaledDotProductAttention, tensor, type Tensor } from '@tessera/core';
import { compareGradients } from '@tessera/core/testing';
import { expectNear, gpu, readBuf, RUNS, shapeArb, viewOfShapeArb, type HostView } from './helpers.js';

/** The same host view as a tensor on a backend (a strided view over an uploaded base). */
function tensorOf(h: HostView, device: string): Tensor {
  return tensor(h.data, { dtype: 'float32', device }).asStrided(h.shape, h.strides, h.offset);
}

async function compareTensors(f: (...xs: Tensor[]) => Tensor, hs: HostView[], tol = { atol: 1e-5, rtol: 1e-4 }, what = 'result') {
  const got = await f(...hs.map((h) => tensorOf(h, 'webgpu'))).data();
  const want = await f(...hs.map((h) => tensorOf(h, 'reference'))).data();
  expectNear(got, want, tol, what);
}

const rowsArb = shapeArb({ minDims: 1, maxDims: 3, maxSide: 70 }).filter((s) => s.reduce((a, b) => a * b, 1) <= 300);

describe('fused kernels', () => {
  it('softmax and logSoftmax over strided rows (incl. -inf entries)', async () => {
    const values = fc.oneof({ weight: 10, arbitrary: fc.float({ min: -20, max: 20, noNaN: true }) }, { weight: 1, arbitrary: fc.constant(-Infinity) });
    const arb = rowsArb.chain((s) => fc.tuple(viewOfShapeArb(s, { values, broadcast: false }), fc.nat(s.length - 1)));
    await fc.assert(
      fc.asyncProperty(arb, async ([h, dim]) => {
        await compareTensors((x) => x.softmax(dim), [h], undefined, 'softmax');
        await compareTensors((x) => x.logSoftmax(dim), [h], undefined, 'logSoftmax');
      }),
      RUNS,
    );
  });

  it('layerNorm and rmsNorm with and without weight and bias', async () => {
    const arb = rowsArb.chain((s) => fc.tuple(viewOfShapeArb(s, { broadcast: false }), viewOfShapeArb([s.at(-1)!]), viewOfShapeArb([s.at(-1)!]), fc.boolean()));
    await fc.assert(
      fc.asyncProperty(arb, async ([h, w, b, affine]) => {
        const n = [h.shape.at(-1)!];
        await compareTensors((x, wt, bs) => layerNorm(x, n, affine ? wt : null, affine ? bs : null), [h, w, b], undefined, 'layerNorm');
        await compareTensors((x, wt) => rmsNorm(x, n, affine ? wt : null, 1e-6), [h, w], undefined, 'rmsNorm');
      }),
      RUNS,
    );
  });

  it('attention forward matches the composed softmax(q·kᵀ·scale + mask)·v, causal or masked', async () => {
    const arb = fc
      .record({ B: fc.integer({ min: 1, max: 2 }), H: fc.integer({ min: 1, max: 2 }), L: fc.integer({ min: 1, max: 5 }), S: fc.integer({ min: 1, max: 70 }), D: fc.integer({ min: 1, max: 6 }), Dv: fc.integer({ min: 1, max: 6 }) })
      .chain((d) =>
        fc.tuple(
          fc.constant(d),
          viewOfShapeArb([d.B, d.H, d.L, d.D], { broadcast: false }),
          viewOfShapeArb([d.B, d.H, d.S, d.D], { broadcast: false }),
          viewOfShapeArb([d.B, d.H, d.S, d.Dv], { broadcast: false }),
          viewOfShapeArb([d.L, d.S]),
          fc.constantFrom('none', 'causal', 'mask'),
        ),
      );
    await fc.assert(
      fc.asyncProperty(arb, async ([d, q, k, v, m, mode]) => {
        const scale = 1 / Math.sqrt(d.D);
        const on = (dev: string) => [q, k, v, m].map((h) => tensorOf(h, dev));
        const [gq, gk, gv, gm] = on('webgpu');
        const buf = gpu.fused.attention!(gq!.layout(), gk!.layout(), gv!.layout(), mode === 'mask' ? gm!.layout() : null, mode === 'causal', scale);
        const got = await readBuf(gpu, buf, [d.B, d.H, d.L, d.Dv]);
        gpu.free(buf);
        const [rq, rk, rv, rm] = on('reference');
        const want = await scaledDotProductAttention(rq!, rk!, rv!, { isCausal: mode === 'causal', attnMask: mode === 'mask' ? rm! : null, scale }).data();
        expectNear(got, want, { atol: 1e-5, rtol: 1e-4 }, `attention (${mode})`);
      }),
      RUNS,
    );
  });
});

describe('gradients against the float64 reference', () => {
  const x = () => tensor([[0.3, -1.2, 2.0, 0.7], [1.5, 0.1, -0.4, -2.2], [0.0, 0.9, -1.1, 0.6]], { device: 'webgpu' }).requiresGrad_();
  const w = () => tensor([[0.5, -0.3], [0.2, 0.8], [-0.7, 0.1], [0.4, -0.6]], { device: 'webgpu' }).requiresGrad_();

  it.each([
    ['softmax ∘ matmul', (a: Tensor, b: Tensor) => a.matmul(b).softmax(-1)],
    ['logSoftmax ∘ gelu', (a: Tensor, b: Tensor) => a.gelu().matmul(b).logSoftmax(0)],
    ['layerNorm ∘ tanh', (a: Tensor, b: Tensor) => layerNorm(a.tanh(), [4]).matmul(b)],
    ['rmsNorm, sum, max', (a: Tensor, b: Tensor) => rmsNorm(a, [4]).matmul(b).amax(1).add(a.sum(1).mul(0.1))],
    ['transpose, sigmoid, cumsum', (a: Tensor, b: Tensor) => a.T.sigmoid().cumsum(0).T.matmul(b.sub(1).T.T)],
  ] as const)('%s, to second order', async (_name, f) => {
    await compareGradients(f, [x(), w()], { order: 2 });
  });
});
