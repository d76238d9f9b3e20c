/** Comparisons, logical ops, where/clamp/maskedFill and broadcasting (zero-size dims included). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { all, create } from 'mathjs';
import { clamp, logicalNot, tensor, where, zeros } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { floatSetup, flatNested, useBackend, vals, type Nested } from './helpers.js';

/** mathjs compares with a relative tolerance by default; the oracle must compare exactly. */
const math = create(all, { relTol: 1e-15, absTol: 0 });
const RUNS = { numRuns: 15 };
const smallInts = (n: number) => fc.array(fc.integer({ min: -3, max: 3 }), { minLength: n, maxLength: n });
const bools = (v: Nested) => flatNested(v).map((b) => +b);

describe.each(BACKENDS)('comparisons, logic and selection (%s)', (name) => {
  useBackend(name);
  const { F } = floatSetup(name);

  const CMP = [
    ['eq', math.equal],
    ['ne', math.unequal],
    ['lt', math.smaller],
    ['le', math.smallerEq],
    ['gt', math.larger],
    ['ge', math.largerEq],
  ] as const;
  for (const [op, oracle] of CMP)
    it(`${op} broadcasts and matches mathjs`, async () => {
      await fc.assert(
        fc.asyncProperty(smallInts(6), smallInts(3), async (a, b) => {
          const A = [a.slice(0, 3), a.slice(3)];
          const out = tensor(A, { dtype: F })[op](tensor(b, { dtype: 'int32' }));
          expect(out.dtype).toBe('bool');
          expect(out.shape).toEqual([2, 3]);
          expect(await vals(out)).toEqual(bools(oracle(A, b) as Nested));
        }),
        RUNS,
      );
    });

  it('comparisons with NaN and scalars', async () => {
    const x = tensor([NaN, 1, 2], { dtype: F });
    expect(await vals(x.eq(NaN))).toEqual([0, 0, 0]);
    expect(await vals(x.ne(x))).toEqual([1, 0, 0]);
    expect(await vals(x.gt(1))).toEqual([0, 0, 1]);
    expect(await vals(x.isnan())).toEqual([1, 0, 0]);
    expect(await x.ge(1.5).array()).toEqual([false, false, true]);
  });

  const LOGIC = [
    ['logicalAnd', math.and],
    ['logicalOr', math.or],
    ['logicalXor', math.xor],
  ] as const;
  for (const [op, oracle] of LOGIC)
    it(`${op} treats non-zero as true and matches mathjs`, async () => {
      await fc.assert(
        fc.asyncProperty(smallInts(4), fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }), async (a, b) => {
          const A = [a.slice(0, 2), a.slice(2)];
          const out = tensor(A, { dtype: 'int32' })[op](tensor([[b[0]!], [b[1]!]]));
          expect(out.dtype).toBe('bool');
          expect(await vals(out)).toEqual(bools(oracle(A, [[+b[0]!], [+b[1]!]]) as Nested));
        }),
        RUNS,
      );
    });

  it('logicalNot and bool reductions all/any', async () => {
    const x = tensor([[0, 2], [0, 0]], { dtype: F });
    expect(await vals(logicalNot(x))).toEqual([1, 0, 1, 1]);
    expect(await vals(x.any(1))).toEqual([1, 0]);
    expect(await vals(x.all())).toEqual([0]);
    expect(await vals(tensor([true, true]).all())).toEqual([1]);
    expect(await x.any(0, true).array()).toEqual([[false, true]]);
  });

  it('where broadcasts condition and both branches, promoting dtypes', async () => {
    const c = tensor([[true], [false]]);
    const out = where(c, tensor([1, 2, 3], { dtype: 'int32' }), 0.5);
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([2, 3]);
    expectClose(await out.data(), [1, 2, 3, 0.5, 0.5, 0.5]);
    // The method form: this where cond holds, other elsewhere.
    expect(await vals(tensor([1, 2], { dtype: F }).where(tensor([false, true]), -1))).toEqual([-1, 2]);
  });

  it('clamp with scalar or tensor bounds, either side optional', async () => {
    const xs = [-3, -0.5, 0, 0.5, 3, NaN];
    const x = tensor(xs, { dtype: F });
    const expected = (lo: number, hi: number) => xs.map((v) => (Number.isNaN(v) ? NaN : Math.min(Math.max(v, lo), hi)));
    expectClose(await x.clamp(-1, 1).data(), expected(-1, 1));
    expectClose(await x.clamp(0).data(), expected(0, Infinity));
    expectClose(await x.clamp(null, 0).data(), expected(-Infinity, 0));
    const los = [-4, 0, 1, 0, 0, 0];
    expectClose(await clamp(x, tensor(los, { dtype: F }), 2).data(), xs.map((v, i) => (Number.isNaN(v) ? NaN : Math.min(Math.max(v, los[i]!), 2))));
    const i = tensor([-5, 0, 5], { dtype: 'int32' });
    expect(i.clamp(-1, 1).dtype).toBe('int32');
    expect(await vals(i.clamp(-1, 1))).toEqual([-1, 0, 1]);
    expect(i.clamp(0.5).dtype).toBe('float32');
  });

  it('maskedFill broadcasts the mask and accepts scalar, -inf and 0-dim tensor values', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { dtype: F });
    const mask = tensor([true, false, true]);
    expect(await vals(x.maskedFill(mask, 0))).toEqual([0, 2, 0, 0, 5, 0]);
    expect(await vals(x.maskedFill(mask, -Infinity))).toEqual([-Infinity, 2, -Infinity, -Infinity, 5, -Infinity]);
    expect(await vals(x.maskedFill(tensor([[true], [false]]), tensor(9, { dtype: F })))).toEqual([9, 9, 9, 4, 5, 6]);
    expect(x.maskedFill(mask, 7.5).dtype).toBe(F);
  });

  it('broadcasting follows NumPy rules, including zero-size dims', async () => {
    const cases: [number[], number[], number[]][] = [
      [[0, 3], [3], [0, 3]],
      [[2, 0], [2, 1], [2, 0]],
      [[0], [1], [0]],
      [[1, 0], [4, 1], [4, 0]],
      [[3, 1, 2], [4, 1], [3, 4, 2]],
      [[], [2, 2], [2, 2]],
    ];
    for (const [sa, sb, so] of cases) {
      const out = zeros(sa, { dtype: F }).add(zeros(sb, { dtype: F }).add(1));
      expect(out.shape, `${sa} + ${sb}`).toEqual(so);
      expect(await vals(out)).toEqual(new Array(so.reduce((p, s) => p * s, 1)).fill(1));
    }
    const empty = zeros([0, 3], { dtype: F });
    expect(await vals(empty.sum())).toEqual([0]);
    expect(await vals(empty.sum(0))).toEqual([0, 0, 0]);
    expect(empty.sum(1).shape).toEqual([0]);
    expect(await vals(empty.prod(0))).toEqual([1, 1, 1]);
    expect(Number.isNaN((await vals(empty.mean()))[0])).toBe(true);
    expect(await vals(empty.eq(empty))).toEqual([]);
  });
});
