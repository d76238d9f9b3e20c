/** gather/scatter family, triu/tril, oneHot and sorting (values from PyTorch 1.13 or worked by hand). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as math from 'mathjs';
import { argsort, gather, indexAdd, indexSelect, oneHot, scatter, scatterAdd, sort, tensor, topk, tril, triu, zeros } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { floatSetup, useBackend, vals } from './helpers.js';

const i32 = (v: number[] | number[][]) => tensor(v, { dtype: 'int32' });

describe.each(BACKENDS)('indexing ops (%s)', (name) => {
  useBackend(name);
  const { F } = floatSetup(name);
  const grid = () => tensor([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]], { dtype: F });

  it('gather along each dim; indices outside [0, size) are errors, like PyTorch', async () => {
    const x = grid();
    expect(await gather(x, 1, i32([[3, 0], [1, 1], [3, 2]])).array()).toEqual([[3, 0], [5, 5], [11, 10]]);
    // A queued backend may only find out when the result is read, so either a throw or a rejected read counts.
    await expect((async () => gather(x, 1, i32([[3, 0], [1, 1], [-1, 2]])).data())()).rejects.toThrow(/index -1 is out of bounds/);
    expect(await x.gather(0, i32([[2, 0, 1, 2]])).array()).toEqual([[8, 1, 6, 11]]);
    // index may be smaller than the input in non-gathered dims
    expect(await x.gather(1, i32([[1], [2]])).array()).toEqual([[1], [6]]);
  });

  it('scatter (last write wins) and scatterAdd (accumulates), with tensor or scalar src', async () => {
    const base = zeros([2, 4], { dtype: F });
    const idx = i32([[0, 2], [3, 3]]);
    const src = tensor([[1, 2], [3, 4]], { dtype: F });
    expect(await scatter(base, 1, idx, src).array()).toEqual([[1, 0, 2, 0], [0, 0, 0, 4]]);
    expect(await scatterAdd(base, 1, idx, src).array()).toEqual([[1, 0, 2, 0], [0, 0, 0, 7]]);
    expect(await base.scatter(1, idx, 9).array()).toEqual([[9, 0, 9, 0], [0, 0, 0, 9]]);
    expect(await vals(base)).toEqual(new Array(8).fill(0)); // out of place
    expect(await zeros([3], { dtype: 'int32' }).scatterAdd(0, i32([0, 0, 2]), i32([1, 2, 3])).array()).toEqual([3, 0, 3]);
  });

  it('indexSelect and indexAdd', async () => {
    const x = grid();
    expect(await indexSelect(x, 0, i32([2, 0, 2])).array()).toEqual([[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]);
    expect(await x.indexSelect(1, i32([3, 1])).array()).toEqual([[3, 1], [7, 5], [11, 9]]);
    expect(x.indexSelect(0, i32([])).shape).toEqual([0, 4]);
    expect(await indexAdd(x, 0, i32([0, 2, 0]), tensor([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]], { dtype: F })).array()).toEqual([
      [2, 3, 4, 5],
      [4, 5, 6, 7],
      [9, 10, 11, 12],
    ]);
    expect(await x.indexAdd(1, i32([1]), tensor([[1], [2], [3]], { dtype: F }), 10).array()).toEqual([
      [0, 11, 2, 3],
      [4, 25, 6, 7],
      [8, 39, 10, 11],
    ]);
  });

  it('triu/tril with diagonal offsets, batched', async () => {
    const x = grid();
    expect(await triu(x).array()).toEqual([[0, 1, 2, 3], [0, 5, 6, 7], [0, 0, 10, 11]]);
    expect(await x.triu(1).array()).toEqual([[0, 1, 2, 3], [0, 0, 6, 7], [0, 0, 0, 11]]);
    expect(await x.triu(-1).array()).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [0, 9, 10, 11]]);
    expect(await tril(x, -1).array()).toEqual([[0, 0, 0, 0], [4, 0, 0, 0], [8, 9, 0, 0]]);
    expect(await x.tril().array()).toEqual([[0, 0, 0, 0], [4, 5, 0, 0], [8, 9, 10, 0]]);
    const b = x.unsqueeze(0).expand(2, 3, 4);
    expect(await b.tril(1).select(0, 1).array()).toEqual([[0, 1, 0, 0], [4, 5, 6, 0], [8, 9, 10, 11]]);
    expect(x.triu().dtype).toBe(F);
    expect(i32([[1, 2], [3, 4]]).triu().dtype).toBe('int32');
  });

  it('oneHot gives int32 with a trailing class dim', async () => {
    const o = oneHot(i32([[0, 2], [1, 0]]), 3);
    expect(o.dtype).toBe('int32');
    expect(o.shape).toEqual([2, 2, 3]);
    expect(await o.array()).toEqual([[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [1, 0, 0]]]);
  });

  it('sort is stable and puts NaN last (first when descending), like PyTorch', async () => {
    const x = tensor([1, NaN, 3, 1, -Infinity, Infinity], { dtype: F });
    const asc = sort(x);
    expectClose(await asc.values.data(), [-Infinity, 1, 1, 3, Infinity, NaN]);
    expect(await vals(asc.indices)).toEqual([4, 0, 3, 2, 5, 1]);
    const desc = x.sort(0, true);
    expectClose(await desc.values.data(), [NaN, Infinity, 3, 1, 1, -Infinity]);
    expect(await vals(desc.indices)).toEqual([1, 5, 2, 0, 3, 4]);
    expect(await vals(argsort(x))).toEqual([4, 0, 3, 2, 5, 1]);
  });

  it('sort along any dim matches math.sort; argsort indices gather the sorted values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 6, maxLength: 6 }), fc.boolean(), async (v, desc) => {
        const rows = [v.slice(0, 3), v.slice(3)];
        const x = tensor(rows, { dtype: F });
        const s = x.sort(1, desc);
        const expected = rows.map((r) => math.sort([...r], desc ? 'desc' : 'asc')); // math.sort sorts arrays in place
        expect(await s.values.array()).toEqual(expected);
        expect(await x.gather(1, s.indices).array()).toEqual(expected);
        // Stability: equal values keep their original order.
        const idx = (await s.indices.array()) as number[][];
        idx.forEach((r, i) => r.forEach((j, k) => k > 0 && rows[i]![r[k - 1]!] === rows[i]![j] && expect(r[k - 1]!).toBeLessThan(j)));
        const cols = x.sort(0);
        const [top, bottom] = rows as [number[], number[]];
        expect(await cols.values.array()).toEqual([top.map((v, c) => Math.min(v, bottom[c]!)), top.map((v, c) => Math.max(v, bottom[c]!))]);
      }),
      { numRuns: 15 },
    );
  });

  it('topk returns the k largest or smallest, sorted, along a dim', async () => {
    const x = tensor([3, 1, 4, 1.5, 5], { dtype: F });
    const big = topk(x, 2);
    expect(await vals(big.values)).toEqual([5, 4]);
    expect(await vals(big.indices)).toEqual([4, 2]);
    const small = x.topk(2, 0, false);
    expect(await vals(small.values)).toEqual([1, 1.5]);
    expect(await vals(small.indices)).toEqual([1, 3]);
    expect(x.topk(0).values.shape).toEqual([0]);
    const m = grid().topk(1, 0);
    expect(await m.values.array()).toEqual([[8, 9, 10, 11]]);
    expect(await m.indices.array()).toEqual([[2, 2, 2, 2]]);
  });
});
