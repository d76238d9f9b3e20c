/** Reductions checked against mathjs on random 3-D inputs: every dim, keepdim, normalizations and norms. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as math from 'mathjs';
import { logsumexp, tensor, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { floatSetup, flatNested, nestedFrom, shapeOfNested, toMath, useBackend, vals, type Nested } from './helpers.js';

const RUNS = { numRuns: 12 };

/** A random 3-D nested array with sizes 1..4 and values in [-3, 3). */
const cube = fc
  .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer())
  .map(([a, b, c, seed]) => nestedFrom([a, b, c], (i) => -3 + (6 * ((Math.imul(i + 1, 2654435761) ^ seed) >>> 0)) / 2 ** 32));

type Oracle = (a: Nested, dim: number) => unknown;
const mapSlices = (f: (v: number[]) => number): Oracle => (a, dim) => math.mapSlices(toMath(a), dim, (v) => f(v as number[]));

describe.each(BACKENDS)('reductions vs mathjs (%s)', (name) => {
  useBackend(name);
  const { F, tol, fround } = floatSetup(name);
  const loose = { atol: F === 'float32' ? 1e-4 : 1e-10, rtol: F === 'float32' ? 1e-4 : 1e-10 };
  const make = (a: Nested) => tensor(nestedFrom(shapeOfNested(a), (i) => fround(flatNested(a)[i]!)), { dtype: F });

  const PER_DIM: [string, (t: Tensor, d: number, keep: boolean) => Tensor, Oracle][] = [
    ['sum', (t, d, k) => t.sum(d, k), (a, d) => math.sum(toMath(a), d)],
    ['mean', (t, d, k) => t.mean(d, k), (a, d) => math.mean(toMath(a), d)],
    ['prod', (t, d, k) => t.prod(d, k), mapSlices((v) => Number(math.prod(v)))],
    ['amax', (t, d, k) => t.amax(d, k), (a, d) => math.max(toMath(a), d)],
    ['amin', (t, d, k) => t.amin(d, k), (a, d) => math.min(toMath(a), d)],
    ['var (correction 1)', (t, d, k) => t.var(d, { keepdim: k }), (a, d) => math.variance(toMath(a), d, 'unbiased')],
    ['var (correction 0)', (t, d, k) => t.var(d, { correction: 0, keepdim: k }), (a, d) => math.variance(toMath(a), d, 'uncorrected')],
    ['std (correction 1)', (t, d, k) => t.std(d, { keepdim: k }), (a, d) => math.std(toMath(a), d, 'unbiased')],
    ['std (correction 0)', (t, d, k) => t.std(d, { correction: 0, keepdim: k }), (a, d) => math.std(toMath(a), d, 'uncorrected')],
    ['norm 2', (t, d, k) => t.norm(2, d, k), mapSlices((v) => Number(math.norm(v)))],
    ['norm 1', (t, d, k) => t.norm(1, d, k), mapSlices((v) => Number(math.norm(v, 1)))],
    ['norm 3', (t, d, k) => t.norm(3, d, k), mapSlices((v) => Number(math.norm(v, 3)))],
    ['norm inf', (t, d, k) => t.norm(Infinity, d, k), mapSlices((v) => Number(math.norm(v, Infinity)))],
    ['norm -inf', (t, d, k) => t.norm(-Infinity, d, k), mapSlices((v) => Number(math.norm(v, -Infinity)))],
    ['logsumexp', (t, d, k) => t.logsumexp(d, k), mapSlices((v) => Number(math.log(math.sum(v.map((x) => math.exp(x))))))],
  ];

  for (const [op, fn, oracle] of PER_DIM)
    it(`${op} along each dim (keepdim or not)`, async () => {
      await fc.assert(
        fc.asyncProperty(cube, fc.integer({ min: 0, max: 2 }), fc.boolean(), async (a, dim, keep) => {
          const shape = shapeOfNested(a);
          const t = make(a);
          const out = fn(t, dim, keep);
          const expectedShape = keep ? shape.map((s, i) => (i === dim ? 1 : s)) : shape.filter((_, i) => i !== dim);
          expect(out.shape).toEqual(expectedShape);
          const flat = flatNested(a);
          const e = flatNested(oracle(nestedFrom(shape, (i) => fround(flat[i]!)), dim) as Nested);
          // With one element and correction 1, PyTorch gives NaN (0/0); mathjs returns 0 — compare with torch.
          const expected = op.includes('correction 1') && shape[dim] === 1 ? e.map(() => NaN) : e;
          expectClose(await out.data(), expected, loose, op);
        }),
        RUNS,
      );
    });

  it('full reductions and negative/multiple dims', async () => {
    await fc.assert(
      fc.asyncProperty(cube, async (a) => {
        const t = make(a);
        const flat = flatNested(a).map(fround);
        expectClose(await t.sum().data(), [Number(math.sum(flat))], loose);
        expectClose(await t.mean().data(), [Number(math.mean(flat))], loose);
        expectClose(await t.prod().data(), [Number(math.prod(flat))], loose);
        expectClose(await t.max().data(), [Number(math.max(flat))], loose);
        expectClose(await t.min().data(), [Number(math.min(flat))], loose);
        expectClose(await t.norm().data(), [Number(math.norm(flat))], loose);
        if (flat.length > 1) expectClose(await t.std().data(), [Number(math.std(flat))], loose);
        expectClose(await t.var(undefined, { correction: 0 }).data(), [Number(math.variance(flat, 'uncorrected'))], loose);
        // Two dims at once equals reducing one after the other; -1 is the last dim.
        expectClose(await t.sum([0, -1]).data(), flatNested(math.sum(math.sum(toMath(a), 2), 0) as Nested).map(Number), loose);
        expect(t.sum([0, 2], true).shape).toEqual([1, t.shape[1], 1]);
      }),
      RUNS,
    );
  });

  it('var with correction 2 and the zero norm (counts non-zeros)', async () => {
    const v = [1, 4, -2, 0, 3];
    const t = tensor(v, { dtype: F });
    expectClose(await t.var(0, { correction: 2 }).data(), [(Number(math.variance(v, 'uncorrected')) * 5) / 3], tol);
    expectClose(await t.norm(0).data(), [4]);
    expectClose(await t.norm('fro').data(), [Number(math.norm(v))], tol);
  });

  it('max/min/argmax along a dim give values and first-occurrence indices', async () => {
    const x = tensor([[1, 5, 5], [7, 7, -1], [0, -2, -2]], { dtype: F });
    const mx = x.max(1);
    expect(await vals(mx.values)).toEqual([5, 7, 0]);
    expect(await vals(mx.indices)).toEqual([1, 0, 0]);
    expect(mx.indices.dtype).toBe('int32');
    const mn = x.min(0, true);
    expect(mn.values.shape).toEqual([1, 3]);
    expect(await vals(mn.values)).toEqual([0, -2, -2]);
    expect(await vals(mn.indices)).toEqual([2, 2, 2]);
    expect(await vals(x.argmax())).toEqual([3]);
    expect(await vals(x.argmin(1))).toEqual([0, 2, 1]);
    expect(x.argmax(0, true).shape).toEqual([1, 3]);
    // NaN wins max and argmax, like PyTorch.
    const n = tensor([1, NaN, 3], { dtype: F });
    expect(Number.isNaN((await vals(n.max()))[0])).toBe(true);
    expect(await vals(n.argmax())).toEqual([1]);
  });

  it('integer reductions: sum and prod stay int32, cumsum too', async () => {
    const i = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' });
    expect(i.sum().dtype).toBe('int32');
    expect(await vals(i.sum(0))).toEqual([5, 7, 9]);
    expect(await vals(i.prod(1))).toEqual([6, 120]);
    expect(await vals(tensor([true, true, false]).sum())).toEqual([2]);
    expect(i.cumsum(1).dtype).toBe('int32');
  });

  // mathjs 15's cumsum mixes up dims 0 and 1 for 3-D inputs, so the oracle runs on 2-D slices; 3-D is hand-checked.
  it('cumsum along each dim matches mathjs', async () => {
    await fc.assert(
      fc.asyncProperty(cube, fc.integer({ min: -2, max: 1 }), async (a, dim) => {
        const plane = (a as Nested[])[0]!;
        const rounded = nestedFrom(shapeOfNested(plane), (i) => fround(flatNested(plane)[i]!));
        const t = tensor(rounded, { dtype: F });
        expectClose(await t.cumsum(dim).data(), flatNested(math.cumsum(toMath(rounded), dim < 0 ? dim + 2 : dim) as Nested), loose);
      }),
      RUNS,
    );
    const x = tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], { dtype: F });
    expect(await vals(x.cumsum(0))).toEqual([1, 2, 3, 4, 6, 8, 10, 12]);
    expect(await vals(x.cumsum(1))).toEqual([1, 2, 4, 6, 5, 6, 12, 14]);
    expect(await vals(x.cumsum(-1))).toEqual([1, 3, 3, 7, 5, 11, 7, 15]);
  });

  it('logsumexp is stable for large inputs and handles -inf rows', async () => {
    const x = tensor([[1000, 1000], [-Infinity, -Infinity], [0, -Infinity]], { dtype: F });
    expectClose(await logsumexp(x, 1).data(), [1000 + Math.log(2), -Infinity, 0], { atol: 1e-4, rtol: 1e-6 });
  });
});
