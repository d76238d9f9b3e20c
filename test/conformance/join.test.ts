/** cat/stack/split/chunk against mathjs concat, and pad/repeat/repeatInterleave against values from PyTorch 1.13. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as math from 'mathjs';
import { arange, cat, chunk, pad, repeat, repeatInterleave, split, stack, tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { floatSetup, nestedFrom, useBackend, type Nested } from './helpers.js';

describe.each(BACKENDS)('joining and tiling (%s)', (name) => {
  useBackend(name);
  const { F } = floatSetup(name);
  const x = () => arange(6, undefined, 1, { dtype: F }).reshape(2, 3); // [[0, 1, 2], [3, 4, 5]]

  it('cat along each dim matches math.concat', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }), async (p, q, r, dim) => {
        const shapeA = [p, 2, r];
        const shapeB = shapeA.map((s, i) => (i === dim ? q : s));
        const a = nestedFrom(shapeA, (i) => i);
        const b = nestedFrom(shapeB, (i) => 100 + i);
        // nested arrays cannot express a zero-size middle dim, so reshape
        const out = cat([tensor(a, { dtype: F }), tensor(q > 0 ? b : [], { dtype: F }).reshape(shapeB)], dim);
        expect(out.shape).toEqual(shapeA.map((s, i) => (i === dim ? s + q : s)));
        if (q > 0) expect(await out.array()).toEqual(math.concat(a as number[][][], b as number[][][], dim));
        else expect(await out.array()).toEqual(a);
      }),
      { numRuns: 15 },
    );
  });

  it('cat promotes dtypes, accepts negative dims and one tensor', async () => {
    const c = cat([tensor([1, 2], { dtype: 'int32' }), tensor([0.5], { dtype: F })], -1);
    expect(c.dtype).toBe(F);
    expect(await c.array()).toEqual([1, 2, 0.5]);
    expect(await cat([x()]).array()).toEqual([[0, 1, 2], [3, 4, 5]]);
  });

  it('stack adds a dim at any position', async () => {
    const a = tensor([1, 2], { dtype: F });
    const b = tensor([3, 4], { dtype: F });
    expect(await stack([a, b]).array()).toEqual([[1, 2], [3, 4]]);
    expect(await stack([a, b], 1).array()).toEqual([[1, 3], [2, 4]]);
    expect(await stack([a, b], -1).array()).toEqual([[1, 3], [2, 4]]);
    expect(stack([x(), x(), x()], 2).shape).toEqual([2, 3, 3]);
  });

  it('split by size or sections, chunk like torch.chunk', async () => {
    const v = arange(7, undefined, 1, { dtype: F });
    expect(await Promise.all(split(v, 3).map((t) => t.array()))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(await Promise.all(v.split([2, 0, 5]).map((t) => t.array()))).toEqual([[0, 1], [], [2, 3, 4, 5, 6]]);
    expect(await Promise.all(x().split(1, 1).map((t) => t.array()))).toEqual([[[0], [3]], [[1], [4]], [[2], [5]]]);
    expect(chunk(arange(6), 4).map((t) => t.shape[0])).toEqual([2, 2, 2]); // torch: 3 chunks of 2
    expect(arange(5).chunk(3).map((t) => t.shape[0])).toEqual([2, 2, 1]);
    expect(await Promise.all(x().chunk(2, 1).map((t) => t.array()))).toEqual([[[0, 1], [3, 4]], [[2], [5]]]);
  });

  it('pad: constant (incl. negative crops), reflect, replicate, circular', async () => {
    expect(await pad(x(), [1, -1, 0, 1], 'constant', 9).array()).toEqual([[9, 0, 1], [9, 3, 4], [9, 9, 9]]);
    expect(await pad(x(), [2, 1], 'reflect').array()).toEqual([[2, 1, 0, 1, 2, 1], [5, 4, 3, 4, 5, 4]]);
    expect(await pad(x(), [2, 1], 'replicate').array()).toEqual([[0, 0, 0, 1, 2, 2], [3, 3, 3, 4, 5, 5]]);
    expect(await pad(x(), [1, 2], 'circular').array()).toEqual([[2, 0, 1, 2, 0, 1], [5, 3, 4, 5, 3, 4]]);
    expect(await pad(x(), [1, 1, 1, 1], 'reflect').array()).toEqual([
      [4, 3, 4, 5, 4],
      [1, 0, 1, 2, 1],
      [4, 3, 4, 5, 4],
      [1, 0, 1, 2, 1],
    ]);
    expect(await pad(x(), [0, 0, 1, 0]).array()).toEqual([[0, 0, 0], [0, 1, 2], [3, 4, 5]]);
  });

  it('repeat tiles (with leading dims); repeatInterleave repeats elements', async () => {
    const r = repeat(x(), [2, 1, 2]);
    expect(r.shape).toEqual([2, 2, 6]);
    expect(await r.select(0, 1).array()).toEqual([[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]]);
    expect(await x().repeat(2, 1).array()).toEqual([[0, 1, 2], [3, 4, 5], [0, 1, 2], [3, 4, 5]]);
    expect(await repeatInterleave(x(), 2, 1).array()).toEqual([[0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5]]);
    expect(await x().repeatInterleave([1, 0, 2], 1).array()).toEqual([[0, 2, 2], [3, 5, 5]]);
    expect(await x().repeatInterleave(2).array()).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    const m = math.kron([[1], [1]], [[0, 1, 2], [3, 4, 5]]) as unknown as Nested; // kron with a column of ones stacks copies
    expect(await x().repeat(2, 1).array()).toEqual(m);
  });
});
