import type { DType } from '@tessera/core';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { cpu, expectClose, freeAll, randInt, randomData, randomLayout, readBuf, ref, rng, viewOn } from './helpers.js';

function check(seed: number, dtype: DType, maxDim: number) {
  const r = rng(seed);
  const batch = Array.from({ length: randInt(r, 0, 2) }, () => randInt(r, 1, 3));
  const [M, K, N] = [randInt(r, 1, maxDim), randInt(r, 1, maxDim), randInt(r, 1, maxDim)];
  const [sa, sb] = [[...batch, M, K], [...batch, K, N]];
  const [la, lb] = [randomLayout(r, sa), randomLayout(r, sb)];
  const [da, db] = [randomData(r, dtype, la.size, -1, 1), randomData(r, dtype, lb.size, -1, 1)];
  const [ac, bc] = [viewOn(cpu, da, dtype, sa, la), viewOn(cpu, db, dtype, sb, lb)];
  const [ar, br] = [viewOn(ref, da, dtype, sa, la), viewOn(ref, db, dtype, sb, lb)];
  const [oc, or] = [cpu.matmul(ac, bc, dtype), ref.matmul(ar, br, dtype)];
  const shape = [...batch, M, N];
  const tol = dtype === 'float32' ? 2e-6 * Math.sqrt(K) : dtype === 'float64' ? 1e-14 * K : 0;
  expectClose(readBuf(cpu, oc, shape, dtype), readBuf(ref, or, shape, dtype), tol, tol, `matmul ${dtype} batch [${batch}] M${M} K${K} N${N} seed ${seed}`);
  freeAll(cpu, ac.buffer, bc.buffer, oc);
}

/** [rows, cols] data laid out row-major, or column-major (the transpose of a row-major array) when `t`. */
function layout2d(rows: number, cols: number, t: boolean) {
  return { size: rows * cols, strides: t ? [1, rows] : [cols, 1], offset: 0 };
}

describe('cpu matmul matches the reference', () => {
  it.each(['float32', 'float64'] as DType[])('%s: every transpose combination takes its packing path correctly', (dtype) => {
    const r = rng(11);
    for (const [M, K, N] of [[37, 45, 53], [4, 4, 8], [64, 19, 16], [1, 33, 40], [40, 33, 1]] as const)
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          const [la, lb] = [layout2d(M, K, ta), layout2d(K, N, tb)];
          const [da, db] = [randomData(r, dtype, la.size, -1, 1), randomData(r, dtype, lb.size, -1, 1)];
          const [ac, bc] = [viewOn(cpu, da, dtype, [M, K], la), viewOn(cpu, db, dtype, [K, N], lb)];
          const [ar, br] = [viewOn(ref, da, dtype, [M, K], la), viewOn(ref, db, dtype, [K, N], lb)];
          const [oc, or] = [cpu.matmul(ac, bc, dtype), ref.matmul(ar, br, dtype)];
          const tol = dtype === 'float32' ? 2e-5 : 1e-13;
          expectClose(readBuf(cpu, oc, [M, N], dtype), readBuf(ref, or, [M, N], dtype), tol, tol, `${M}x${K}x${N} ta=${ta} tb=${tb}`);
          freeAll(cpu, ac.buffer, bc.buffer, oc);
        }
  });

  it.each(['float32', 'float64', 'int32'] as DType[])('%s: small random strided, transposed and broadcast-batch operands', (dtype) => {
    fc.assert(fc.property(fc.integer(), (seed) => check(seed, dtype, 13)), { numRuns: 40 });
  });
  it.each(['float32', 'float64'] as DType[])('%s: sizes that cross the KC/MC/NR blocking edges', (dtype) => {
    fc.assert(fc.property(fc.integer(), (seed) => check(seed, dtype, 300)), { numRuns: 6 });
  });
});
