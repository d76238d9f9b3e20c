/** Elementwise math checked against mathjs on random inputs, plus the special values and rounding rules. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as math from 'mathjs';
import { all, create } from 'mathjs';
import { tensor, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { floatSetup, flatNested, nestedFrom, toMath, useBackend, vals, type Nested } from './helpers.js';

const RUNS = { numRuns: 15 };
/**
 * mathjs snaps floor/ceil/round to the nearest integer within a relative tolerance (floor(-5e-324) = 0 by default);
 * use the tightest one it allows and skip inputs that close to an integer.
 */
const exact = create(all, { relTol: 1e-15, absTol: 0 });
const nearInteger = (x: number) => x !== Math.round(x) && Math.abs(x - Math.round(x)) < 1e-12 * Math.max(1, Math.abs(x));
const doubles = (min: number, max: number) =>
  fc.array(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 12 });

const m = (f: (x: number) => unknown) => (x: number) => Number(f(x));
const sigmoid = (x: number) => Number(math.divide(1, math.add(1, math.exp(-x))));
const erfOf = (x: number) => Number(math.erf(x));

/** [op, Tessera, mathjs oracle, input range] */
const UNARY: [string, (t: Tensor) => Tensor, (x: number) => number, [number, number]][] = [
  ['neg', (t) => t.neg(), m(math.unaryMinus), [-50, 50]],
  ['abs', (t) => t.abs(), m(math.abs), [-50, 50]],
  ['sign', (t) => t.sign(), m(math.sign), [-5, 5]],
  ['floor', (t) => t.floor(), m(exact.floor), [-50, 50]],
  ['ceil', (t) => t.ceil(), m(exact.ceil), [-50, 50]],
  ['exp', (t) => t.exp(), m(math.exp), [-20, 20]],
  ['log', (t) => t.log(), m(math.log), [1e-3, 100]],
  ['log1p', (t) => t.log1p(), m(math.log1p), [-0.99, 100]],
  ['expm1', (t) => t.expm1(), m(math.expm1), [-20, 20]],
  ['sqrt', (t) => t.sqrt(), m(math.sqrt), [0, 100]],
  ['rsqrt', (t) => t.rsqrt(), (x) => Number(math.divide(1, math.sqrt(x))), [1e-2, 100]],
  ['sin', (t) => t.sin(), m(math.sin), [-10, 10]],
  ['cos', (t) => t.cos(), m(math.cos), [-10, 10]],
  ['tanh', (t) => t.tanh(), m(math.tanh), [-10, 10]],
  ['sigmoid', (t) => t.sigmoid(), sigmoid, [-20, 20]],
  ['erf', (t) => t.erf(), erfOf, [-4, 4]],
  ['reciprocal', (t) => t.reciprocal(), m(math.inv), [0.1, 10]],
  ['square', (t) => t.square(), m(math.square), [-30, 30]],
  ['relu', (t) => t.relu(), (x) => Number(math.max(x, 0)), [-5, 5]],
  ['gelu', (t) => t.gelu(), (x) => 0.5 * x * (1 + erfOf(x / Math.SQRT2)), [-6, 6]],
  ['gelu tanh', (t) => t.gelu('tanh'), (x) => 0.5 * x * (1 + Number(math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))), [-6, 6]],
  ['silu', (t) => t.silu(), (x) => x * sigmoid(x), [-10, 10]],
  ['leakyRelu', (t) => t.leakyRelu(0.1), (x) => (x > 0 ? x : 0.1 * x), [-5, 5]],
  ['softplus', (t) => t.softplus(), (x) => Number(math.log(math.add(1, math.exp(x)))), [-15, 15]],
];

/** Flat broadcast of two nested arrays (for ops mathjs only has as reductions, like max). */
function zipBroadcast(a: Nested, sa: number[], b: Nested, sb: number[], f: (x: number, y: number) => number): number[] {
  const nd = Math.max(sa.length, sb.length);
  const pa = [...Array(nd - sa.length).fill(1), ...sa];
  const pb = [...Array(nd - sb.length).fill(1), ...sb];
  const out = pa.map((s, i) => Math.max(s, pb[i]!));
  const fa = flatNested(a);
  const fb = flatNested(b);
  const at = (flat: number[], shape: number[], idx: number[]) =>
    flat[idx.reduce((acc, v, i) => acc * shape[i]! + (shape[i] === 1 ? 0 : v), 0)]!;
  const n = out.reduce((p, s) => p * s, 1);
  return Array.from({ length: n }, (_, k) => {
    const idx: number[] = [];
    for (let d = nd - 1, r = k; d >= 0; d--) {
      idx[d] = r % out[d]!;
      r = Math.floor(r / out[d]!);
    }
    return f(at(fa, pa, idx), at(fb, pb, idx));
  });
}

/** Two shapes that broadcast: a common base, each side dropping leading dims and setting some dims to 1. */
const broadcastPair = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 8, maxLength: 8 }))
  .map(([base, r]) => {
    const side = (k: number) => base.slice(r[k]! % (base.length + 1)).map((s, i) => (r[(k + 2 + i) % 8]! === 0 ? 1 : s));
    return [side(0), side(1)] as const;
  });

describe.each(BACKENDS)('elementwise conformance (%s)', (name) => {
  useBackend(name);
  const { F, tol, fround } = floatSetup(name);

  for (const [op, fn, oracle, [lo, hi]] of UNARY)
    it(`${op} matches mathjs`, async () => {
      await fc.assert(
        fc.asyncProperty(doubles(lo, hi), async (xs) => {
          const inp = xs.map(fround).filter((x) => !nearInteger(x));
          if (!inp.length) return;
          const out = fn(tensor(inp, { dtype: F }));
          expect(out.dtype).toBe(F);
          expectClose(await out.data(), inp.map(oracle), tol, op);
        }),
        RUNS,
      );
    });

  it('special values follow IEEE/PyTorch', async () => {
    const x = tensor([-Infinity, -1, -0, 0, 1, Infinity, NaN], { dtype: F });
    expectClose(await x.exp().data(), [0, Math.exp(-1), 1, 1, Math.E, Infinity, NaN], tol);
    expectClose(await x.log().data(), [NaN, NaN, -Infinity, -Infinity, 0, Infinity, NaN], tol);
    expectClose(await x.sqrt().data(), [NaN, NaN, 0, 0, 1, Infinity, NaN], tol);
    expectClose(await x.tanh().data(), [-1, Math.tanh(-1), 0, 0, Math.tanh(1), 1, NaN], tol);
    expectClose(await x.sigmoid().data(), [0, sigmoid(-1), 0.5, 0.5, sigmoid(1), 1, NaN], tol);
    expectClose(await x.erf().data(), [-1, erfOf(-1), 0, 0, erfOf(1), 1, NaN], tol);
    expectClose(await x.relu().data(), [0, 0, 0, 0, 1, Infinity, NaN], tol);
    expectClose(await x.sign().data(), [-1, -1, 0, 0, 1, 1, NaN], tol);
    expectClose(await x.reciprocal().data(), [-0, -1, -Infinity, Infinity, 1, 0, NaN], tol);
  });

  it('round is half-to-even (mathjs rounds half away from zero, so only non-halves are compared to it)', async () => {
    const halves = [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5];
    expect(await vals(tensor(halves, { dtype: F }).round())).toEqual([-4, -2, -2, -0, 0, 2, 2, 4, 4]);
    expect(halves.map((v) => math.round(v))).toEqual([-4, -3, -2, -1, 1, 2, 3, 4, 5]); // the oracle differs here
    await fc.assert(
      fc.asyncProperty(doubles(-100, 100), async (xs) => {
        const inp = xs.map(fround).filter((v) => Math.abs(v % 1) !== 0.5 && !nearInteger(v));
        if (!inp.length) return;
        expectClose(await tensor(inp, { dtype: F }).round().data(), inp.map((v) => exact.round(v)), tol);
      }),
      RUNS,
    );
  });

  it('float ops on int32 and bool compute in the default float dtype; exact ops keep int32', async () => {
    const i = tensor([1, 4, 9], { dtype: 'int32' });
    expect(i.sqrt().dtype).toBe('float32');
    expect(await vals(i.sqrt())).toEqual([1, 2, 3]);
    expect(tensor([true, false]).exp().dtype).toBe('float32');
    for (const t of [i.neg(), i.abs(), i.square(), i.relu(), i.sign()]) expect(t.dtype).toBe('int32');
    expect(await vals(i.neg())).toEqual([-1, -4, -9]);
  });

  const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, (a: Nested, b: Nested) => unknown, [number, number], [number, number]][] = [
    ['add', (a, b) => a.add(b), (a, b) => math.add(toMath(a), toMath(b)), [-10, 10], [-10, 10]],
    ['sub', (a, b) => a.sub(b), (a, b) => math.subtract(toMath(a), toMath(b)), [-10, 10], [-10, 10]],
    ['mul', (a, b) => a.mul(b), (a, b) => math.dotMultiply(toMath(a), toMath(b)), [-10, 10], [-10, 10]],
    ['div', (a, b) => a.div(b), (a, b) => math.dotDivide(toMath(a), toMath(b)), [-10, 10], [0.5, 10]],
    ['pow', (a, b) => a.pow(b), (a, b) => math.dotPow(toMath(a), toMath(b)), [0.1, 5], [-3, 3]],
  ];
  for (const [op, fn, oracle, ra, rb] of BINARY)
    it(`${op} with broadcasting matches mathjs`, async () => {
      await fc.assert(
        fc.asyncProperty(broadcastPair, fc.integer(), async ([sa, sb], seed) => {
          const gen = (shape: number[], [lo, hi]: [number, number], k: number) =>
            nestedFrom(shape, (i) => fround(lo + ((hi - lo) * (((i + 1) * 2654435761 + seed * 97 + k) >>> 0)) / 2 ** 32));
          const a = gen(sa, ra, 1);
          const b = gen(sb, rb, 2);
          const out = fn(tensor(a, { dtype: F }), tensor(b, { dtype: F }));
          const expected = oracle(a, b) as Nested;
          expect(out.shape).toEqual(broadcastShape(sa, sb));
          expectClose(await out.data(), flatNested(expected), { atol: tol.atol, rtol: F === 'float32' ? 1e-4 : tol.rtol }, op);
        }),
        RUNS,
      );
    });

  it('maximum/minimum broadcast and propagate NaN', async () => {
    const a = [[1, 5, NaN], [-2, 0, 3]];
    const b = [[2], [-1]];
    expectClose(await tensor(a, { dtype: F }).maximum(tensor(b, { dtype: F })).data(), zipBroadcast(a, [2, 3], b, [2, 1], (x, y) => (Number.isNaN(x) ? NaN : Math.max(x, y))));
    expectClose(await tensor(a, { dtype: F }).minimum(tensor(b, { dtype: F })).data(), zipBroadcast(a, [2, 3], b, [2, 1], (x, y) => (Number.isNaN(x) ? NaN : Math.min(x, y))));
  });

  it('int32 arithmetic is exact and wraps like int32', async () => {
    const a = tensor([7, -7, 46341, 3], { dtype: 'int32' });
    const b = tensor([2, 2, 46341, -1], { dtype: 'int32' });
    expect(await vals(a.add(b))).toEqual([9, -5, 92682, 2]);
    expect(await vals(a.mul(b))).toEqual([14, -14, Math.imul(46341, 46341), -3]);
    expect(await vals(a.pow(tensor([2, 3, 0, 5], { dtype: 'int32' })))).toEqual([49, -343, 1, 243]);
    const q = a.div(b);
    expect(q.dtype).toBe('float32');
    expectClose(await q.data(), [3.5, -3.5, 1, -3]);
  });

  it('add/sub alpha scales the second operand', async () => {
    const a = tensor([1, 2, 3], { dtype: F });
    expectClose(await a.add(tensor([1, 1, 1], { dtype: F }), 2).data(), [3, 4, 5]);
    expectClose(await a.sub(1, 0.5).data(), [0.5, 1.5, 2.5]);
  });
});

function broadcastShape(a: number[], b: number[]): number[] {
  const nd = Math.max(a.length, b.length);
  return Array.from({ length: nd }, (_, i) => {
    const x = a[i - (nd - a.length)] ?? 1;
    const y = b[i - (nd - b.length)] ?? 1;
    return x === 1 ? y : x;
  });
}
