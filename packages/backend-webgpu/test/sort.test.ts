/**
 * sort (a stable merge sort by passes of doubling width) against the reference backend: ties, NaN, ±Infinity and
 * ±0, ascending and descending, row lengths around powers of two, 1, and a row of 5000; strided rows; int32.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { DType } from '@tessera/core';
import { compareOp, intValues, RUNS, viewOfShapeArb, type HostView } from './helpers.js';

async function compareSort(v: HostView, desc: boolean): Promise<void> {
  await compareOp((b, [x]) => b.sort(x!, desc).values, [v], v.shape, {}, `values (${desc ? 'descending' : 'ascending'})`);
  await compareOp((b, [x]) => b.sort(x!, desc).indices, [v], v.shape, {}, `indices (${desc ? 'descending' : 'ascending'})`);
}

const row = (data: number[], dtype: DType = 'float32'): HostView => ({ data, shape: [data.length], strides: [1], offset: 0, dtype });

/** Few distinct values, so ties are common; specials included. */
const SPECIALS = [-1, 0, -0, 2, 2.5, NaN, Infinity, -Infinity];

describe('sort', () => {
  it.each([1, 2, 3, 5, 7, 8, 9, 31, 33, 64, 65, 100])('rows of length %i with ties, NaN and ±Infinity, both orders', async (n) => {
    const data = Array.from({ length: 3 * n }, (_, i) => SPECIALS[(i * 7 + (i >> 2)) % SPECIALS.length]!);
    for (const desc of [false, true]) await compareSort({ data, shape: [3, n], strides: [n, 1], offset: 0, dtype: 'float32' }, desc);
  });

  it('a row of 5000 (many ties), both orders, float32 and int32', async () => {
    const n = 5000;
    const floats = Array.from({ length: n }, (_, i) => (i % 97 === 0 ? NaN : i % 89 === 0 ? -Infinity : Math.fround(Math.sin(i * 12.9898) * 20) | 0));
    const ints = Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 0) % 50 - 25);
    for (const desc of [false, true]) {
      await compareSort(row(floats), desc);
      await compareSort(row(ints, 'int32'), desc);
    }
  });

  it('strided rows (transposed, flipped, stepped) of random shapes', async () => {
    const arb = fc
      .tuple(fc.constantFrom<DType>('float32', 'int32'), fc.boolean(), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 3 }))
      .chain(([dtype, desc, shape]) =>
        viewOfShapeArb(shape, { dtype, values: dtype === 'int32' ? intValues(-3, 3) : fc.constantFrom(...SPECIALS) }).map((v) => [v, desc] as const),
      );
    await fc.assert(fc.asyncProperty(arb, ([v, desc]) => compareSort(v, desc)), RUNS);
  });

  it('a 0-d tensor and an empty row', async () => {
    await compareSort({ data: [3], shape: [], strides: [], offset: 0, dtype: 'float32' }, false);
    await compareSort({ data: [], shape: [2, 0], strides: [0, 1], offset: 0, dtype: 'float32' }, true);
  });
});
