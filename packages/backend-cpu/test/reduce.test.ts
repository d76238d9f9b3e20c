import type { DType, ReduceOp } from '@tessera/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contiguousLayout, cpu, expectClose, freeAll, randInt, randomData, randomLayout, randomShape, readBuf, ref, rng, viewOn } from './helpers.js';

function check(op: ReduceOp, dtype: DType, seed: number, specials: boolean) {
  const r = rng(seed);
  const shape = randomShape(r, 4, 9);
  if (shape.length === 0 && (op === 'argmax' || op === 'argmin')) shape.push(3);
  const layout = randomLayout(r, shape);
  const data = randomData(r, dtype, layout.size, -3, 3, specials);
  let axes = shape.map((_, d) => d).filter(() => r() < 0.5);
  if (op === 'argmax' || op === 'argmin') axes = [randInt(r, 0, shape.length - 1)];
  const out: DType = op.startsWith('arg') ? 'int32' : (op === 'sum' || op === 'prod') && (dtype === 'bool' || dtype === 'int32') ? 'int32' : dtype;
  const outShape = shape.filter((_, d) => !axes.includes(d));
  const [vc, vr] = [viewOn(cpu, data, dtype, shape, layout), viewOn(ref, data, dtype, shape, layout)];
  const [oc, or] = [cpu.reduce(op, vc, axes, out), ref.reduce(op, vr, axes, out)];
  const tol = op === 'sum' || op === 'prod' ? (dtype === 'float64' ? 1e-13 : 2e-7) : 0;
  expectClose(readBuf(cpu, oc, outShape, out), readBuf(ref, or, outShape, out), tol, tol, `${op} ${dtype} [${shape}] axes [${axes}] seed ${seed}`);
  freeAll(cpu, vc.buffer, oc);
}

describe('cpu reductions match the reference', () => {
  const cases: [ReduceOp, DType][] = [];
  for (const op of ['sum', 'prod', 'max', 'min', 'argmax', 'argmin'] as ReduceOp[])
    for (const dt of ['float32', 'float64', 'int32'] as DType[]) cases.push([op, dt]);
  cases.push(['max', 'bool'], ['min', 'bool'], ['sum', 'bool']);
  it.each(cases)('%s %s on random strided views and axes', (op, dtype) => {
    fc.assert(fc.property(fc.integer(), fc.boolean(), (seed, sp) => check(op, dtype, seed, sp && dtype !== 'int32')), { numRuns: 20 });
  });

  it('long contiguous rows (SIMD path) with NaN and ties', () => {
    for (const n of [1, 5, 8, 9, 33, 1000]) {
      const r = rng(n);
      for (const dtype of ['float32', 'float64'] as DType[]) {
        const data = randomData(r, dtype, 3 * n);
        data[n + Math.floor(n / 2)] = NaN;
        data[2 * n + n - 1] = 100;
        data[2 * n] = 100;
        const [vc, vr] = [viewOn(cpu, data, dtype, [3, n], contiguousLayout([3, n])), viewOn(ref, data, dtype, [3, n], contiguousLayout([3, n]))];
        for (const op of ['sum', 'max', 'min', 'argmax', 'argmin'] as ReduceOp[]) {
          const out = op.startsWith('arg') ? 'int32' : dtype;
          const [oc, or] = [cpu.reduce(op, vc, [1], out), ref.reduce(op, vr, [1], out)];
          expectClose(readBuf(cpu, oc, [3], out), readBuf(ref, or, [3], out), 0, dtype === 'float32' ? 1e-7 : 1e-14, `${op} ${dtype} n=${n}`);
          cpu.free(oc);
        }
        cpu.free(vc.buffer);
      }
    }
  });

  it('column reductions (reduced dim outer, kept dim contiguous) take the vector path and match', () => {
    for (const [R, C] of [[5, 3], [7, 9], [64, 37], [3, 130]] as const)
      for (const dtype of ['float32', 'float64'] as DType[]) {
        const r = rng(R * C);
        const data = randomData(r, dtype, R * C);
        data[C + 2] = NaN;
        const [vc, vr] = [viewOn(cpu, data, dtype, [R, C], contiguousLayout([R, C])), viewOn(ref, data, dtype, [R, C], contiguousLayout([R, C]))];
        for (const op of ['sum', 'max', 'min', 'prod'] as ReduceOp[]) {
          const [oc, or] = [cpu.reduce(op, vc, [0], dtype), ref.reduce(op, vr, [0], dtype)];
          expectClose(readBuf(cpu, oc, [C], dtype), readBuf(ref, or, [C], dtype), 0, dtype === 'float32' ? 1e-7 : 1e-14, `${op} ${dtype} [${R}, ${C}]`);
          cpu.free(oc);
        }
        cpu.free(vc.buffer);
      }
  });

  it('empty reductions: sum is 0, prod is 1, max throws like the reference', () => {
    const v = viewOn(cpu, new Float32Array(0), 'float32', [2, 0], { size: 0, strides: [0, 1], offset: 0 });
    const s = cpu.reduce('sum', v, [1], 'float32');
    expect(Array.from(readBuf(cpu, s, [2], 'float32'))).toEqual([0, 0]);
    expect(() => cpu.reduce('max', v, [1], 'float32')).toThrow(/cannot reduce over an empty dimension/);
    freeAll(cpu, v.buffer, s);
  });
});
