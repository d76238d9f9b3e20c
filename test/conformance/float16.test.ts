/**
 * float16 on every backend that has it: exact rounding (round half to even, overflow to ±inf, subnormal halves),
 * casts, creation, ops computed in float32 and rounded once, strided and odd-offset views, promotion, gradients and
 * a short training loop. Expected values are the float64 result of the op on the same half inputs, rounded to half;
 * backends compute in float32, so they may differ from it by a half ulp or two. Backends without float16 must throw
 * a DTypeError that names the backend, the dtype and what is missing.
 */
import { describe, expect, it } from 'vitest';
import {
  arange, backendByName, cat, eye, full, linspace, ones, DTypeError, float16Bits, float16FromBits, Generator, gather, layerNorm, noGrad, promoteTypes, rand, randn,
  resultType, rmsNorm, roundFloat16, scope, setDefaultDtype, stack, tensor, where, zeros, type Tensor,
} from '@tessera/core';
import { scaledDotProductAttention as sdpa } from '@tessera/attention';
import { Linear, SGD } from '@tessera/nn';
import { BACKENDS, hasFloat64 } from '../support/backends.js';
import { lcg, useBackend, vals } from './helpers.js';

const h = roundFloat16;
/** The spacing of halves at x (2^-24 among the subnormals). */
const ulp = (x: number) => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(x) || 2 ** -24)), -14) - 10);

/**
 * Every value is a half, within `ulps` half ulps of the expected one (NaN and ±inf exactly), plus `atol` for results
 * that cancel (a float32 sum's own rounding error is relative to its terms, not to the small result).
 */
function expectHalves(actual: ArrayLike<number>, expected: readonly number[], ulps = 1, what = 'value', atol = 0): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      expect(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${what}[${i}]: got ${a}, expected ${e}`).toBe(true);
      continue;
    }
    if (h(a) !== a) expect.fail(`${what}[${i}]: ${a} is not a half-precision value`);
    if (Math.abs(a - e) > ulps * ulp(e) + atol) expect.fail(`${what}[${i}]: got ${a}, expected ${e} (± ${ulps} half ulp + ${atol})`);
  }
}

/** Deterministic half-precision values in [lo, hi). */
const halves = (seed: number, n: number, lo = -2, hi = 2) => lcg(seed, n, lo, hi).map(h);

describe('float16 rounding helpers (core)', () => {
  it('round to nearest even, with overflow, subnormals, NaN and signed zero, by bit pattern', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [-65520, 0xfc00], [1e6, 0x7c00],
      [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000],
      [1.5 * 2 ** -25, 0x0001], [2 ** -25 * 1.0000001, 0x0001], [3 * 2 ** -25, 0x0002], [(1023.5) * 2 ** -24, 0x0400],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [1 + 2 ** -11 + 2 ** -30, 0x3c01], [-0, 0x8000], [0, 0],
      [0.1, 0x2e66], [-2.5, 0xc100], [2049, 0x6800], [2051, 0x6802],
    ];
    for (const [x, bits] of cases) expect(float16Bits(x), `float16Bits(${x})`).toBe(bits);
    expect(Number.isNaN(h(NaN))).toBe(true);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(Object.is(h(-0), -0)).toBe(true);
    expect(Object.is(h(-1e-9), -0)).toBe(true);
    expect(float16FromBits(0x7bff)).toBe(65504);
    expect(float16FromBits(0x0001)).toBe(2 ** -24);
    // Every finite half survives the round trip.
    for (let b = 0; b < 0x7c00; b += 13) expect(float16Bits(float16FromBits(b))).toBe(b);
  });

  it('promotion: bool < int32 < float16 < float32 < float64, and float16 is not a default dtype', () => {
    expect(promoteTypes('float16', 'float32')).toBe('float32');
    expect(promoteTypes('int32', 'float16')).toBe('float16');
    expect(promoteTypes('bool', 'float16')).toBe('float16');
    expect(promoteTypes('float16', 'float64')).toBe('float64');
    const t16 = { dtype: 'float16' as const, ndim: 1 };
    expect(resultType(t16, 0.5)).toBe('float16');
    expect(resultType(t16, { dtype: 'float32', ndim: 0 })).toBe('float16');
    expect(resultType(t16, { dtype: 'float32', ndim: 2 })).toBe('float32');
    expect(resultType({ dtype: 'int32', ndim: 1 }, 0.5)).toBe('float32');
    expect(() => setDefaultDtype('float16')).toThrow(DTypeError);
  });
});

describe.each(BACKENDS)('float16 (%s)', (name) => {
  useBackend(name);
  const supported = backendByName(name).capabilities.dtypes.includes('float16');

  it.skipIf(supported)('a backend without float16 rejects it with a DTypeError', () => {
    expect(() => tensor([1, 2], { dtype: 'float16' })).toThrow(DTypeError);
    expect(() => tensor([1, 2]).half()).toThrow(/float16/);
  });

  if (!supported) return;

  it('creation and casts round to nearest even; data() is a Float32Array of halves', async () => {
    const src = [1, 65504, 65520, -65536, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -0, NaN, -Infinity, 0.1];
    const t = tensor(src, { dtype: 'float16' });
    expect(t.dtype).toBe('float16');
    const d = await t.data();
    expect(d).toBeInstanceOf(Float32Array);
    expectHalves(d, src.map(h), 0, 'tensor()');
    expect(Object.is(d[9], -0)).toBe(true);
    expectHalves(await tensor(Float32Array.from(src)).half().data(), src.map(h), 0, 'float32 → half()');
    expectHalves(await tensor(src, { dtype: 'float16' }).float().data(), src.map(h), 0, 'half → float32');
    expect(await vals(tensor([2049, 2051, -7, 70000], { dtype: 'int32' }).half())).toEqual([2048, 2052, -7, Infinity]);
    expect(await vals(tensor([1.75, -2.5, 300.25], { dtype: 'float16' }).int())).toEqual([1, -2, 300]);
    expect(await vals(tensor([true, false]).to('float16'))).toEqual([1, 0]);
    expect(await vals(tensor([0, 0.5, NaN], { dtype: 'float16' }).bool())).toEqual([0, 1, 1]);
    expect(await tensor([[1, 2]], { dtype: 'float16' }).array()).toEqual([[1, 2]]);
    expect(await tensor(2.5, { dtype: 'float16' }).item()).toBe(2.5);
  });

  it('float32 → float16 rounding is exact on the device: all midpoints tie to even, neighbours go their way', async () => {
    const xs: number[] = [];
    const f32 = new Float32Array(1);
    const bits = new Uint32Array(f32.buffer);
    const nudge = (x: number, by: number) => ((f32[0] = x), (bits[0]! += by), f32[0]!);
    for (let b = 0; b < 0x7bff; b += 5) {
      const [lo, hi] = [float16FromBits(b), float16FromBits(b + 1)];
      const mid = (lo + hi) / 2;
      xs.push(lo, mid, nudge(mid, 1), nudge(mid, -1));
    }
    xs.push(65504, 65519.99609375, 65520, 2 ** -26, 1e-30);
    const all = Float32Array.from([...xs, ...xs.map((x) => -x)]);
    expectHalves(await tensor(all).half().data(), Array.from(all, h), 0, 'half()');
    // An op's float16 output: sums of halves that land exactly on midpoints (ties to even) or just past them.
    const ks = Float32Array.from({ length: 1024 }, (_, k) => 1 + k * 2 ** -10);
    const base = tensor(ks, { dtype: 'float16' });
    for (const d of [2 ** -11, 2 ** -11 + 2 ** -21, -(2 ** -11)])
      expectHalves(await base.add(d).data(), Array.from(ks, (k) => h(k + d)), 0, `add ${d}`);
  });

  it('creation functions take { dtype: float16 }', async () => {
    expect(await vals(zeros([3], { dtype: 'float16' }))).toEqual([0, 0, 0]);
    const f = full([2], 0.1, { dtype: 'float16' });
    expect(f.dtype).toBe('float16');
    expect(await vals(f)).toEqual([h(0.1), h(0.1)]);
    expect(await vals(arange(0, 1, 0.25, { dtype: 'float16' }))).toEqual([0, 0.25, 0.5, 0.75]);
    expectHalves(await linspace(0, 1, 4, { dtype: 'float16' }).data(), [0, 1 / 3, 2 / 3, 1].map(h), 0, 'linspace');
    expect(await vals(eye(2, 2, { dtype: 'float16' }))).toEqual([1, 0, 0, 1]);
    expect(ones([1], { dtype: 'float16', requiresGrad: true }).requiresGrad).toBe(true);
    // rand keeps 11 random bits (values k/2048 in [0, 1)); randn is the float32 draw rounded.
    const u = await vals(rand([4000], { dtype: 'float16', generator: new Generator(7) }));
    const u32 = await vals(rand([4000], { dtype: 'float32', generator: new Generator(7) }));
    expect(u).toEqual(u32.map((v) => Math.floor(v * 2048) / 2048));
    expect(Math.max(...u)).toBeLessThan(1);
    const n = await vals(randn([500], { dtype: 'float16', generator: new Generator(8) }));
    const n32 = await vals(randn([500], { dtype: 'float32', generator: new Generator(8) }));
    expectHalves(n, n32.map(h), 0, 'randn');
  });

  it('elementwise, binary and broadcast ops compute in float32 and round once', async () => {
    const av = halves(1, 12);
    const bv = halves(2, 4, 0.5, 3);
    const a = tensor(Float32Array.from(av), { dtype: 'float16', shape: [3, 4] });
    const b = tensor(bv, { dtype: 'float16' });
    const bc = (i: number) => bv[i % 4]!;
    const binary: [string, (x: Tensor, y: Tensor) => Tensor, (x: number, y: number) => number][] = [
      ['add', (x, y) => x.add(y), (x, y) => x + y],
      ['sub', (x, y) => x.sub(y), (x, y) => x - y],
      ['mul', (x, y) => x.mul(y), (x, y) => x * y],
      ['div', (x, y) => x.div(y), (x, y) => x / y],
      ['maximum', (x, y) => x.maximum(y), Math.max],
      ['pow', (x, y) => x.abs().pow(y), (x, y) => Math.abs(x) ** y],
    ];
    for (const [op, f, ref] of binary) {
      const out = f(a, b);
      expect(out.dtype, op).toBe('float16');
      expectHalves(await out.data(), av.map((x, i) => h(ref(x, bc(i)))), 1, op);
    }
    const unary: [string, (x: Tensor) => Tensor, (x: number) => number][] = [
      ['neg', (x) => x.neg(), (x) => -x],
      ['abs', (x) => x.abs(), Math.abs],
      ['exp', (x) => x.exp(), Math.exp],
      ['log', (x) => x.abs().log(), (x) => Math.log(Math.abs(x))],
      ['sqrt', (x) => x.abs().sqrt(), (x) => Math.sqrt(Math.abs(x))],
      ['tanh', (x) => x.tanh(), Math.tanh],
      ['sigmoid', (x) => x.sigmoid(), (x) => 1 / (1 + Math.exp(-x))],
      ['relu', (x) => x.relu(), (x) => Math.max(x, 0)],
      ['sin', (x) => x.sin(), Math.sin],
      ['square', (x) => x.square(), (x) => x * x],
    ];
    for (const [op, f, ref] of unary) {
      const out = f(a);
      expect(out.dtype, op).toBe('float16');
      expectHalves(await out.data(), av.map((x) => h(ref(x))), 1, op);
    }
    expect(await vals(a.gt(b))).toEqual(av.map((x, i) => +(x > bc(i))));
    expect(a.gt(b).dtype).toBe('bool');
    // Overflow saturates to infinity like IEEE half.
    expect(await vals(tensor([300, -300], { dtype: 'float16' }).mul(300))).toEqual([Infinity, -Infinity]);
    expectHalves(await a.mul(0.5).add(3).data(), av.map((x) => h(h(x * 0.5) + 3)), 1, 'scalar chain');
    expectHalves(await where(a.gt(0), a, b).data(), av.map((x, i) => (x > 0 ? x : bc(i))), 0, 'where');
  });

  it('reductions accumulate in float32 and round once', async () => {
    const xv = halves(3, 2 * 3 * 5);
    const x = tensor(Float32Array.from(xv), { dtype: 'float16', shape: [2, 3, 5] });
    const at = (i: number, j: number, k: number) => xv[i * 15 + j * 5 + k]!;
    const sum1 = [0, 1].flatMap((i) => [0, 1, 2, 3, 4].map((k) => at(i, 0, k) + at(i, 1, k) + at(i, 2, k)));
    expectHalves(await x.sum(1).data(), sum1.map(h), 1, 'sum(1)');
    expect(x.sum(1).dtype).toBe('float16');
    expectHalves(await x.mean(1).data(), sum1.map((s) => h(s / 3)), 1, 'mean(1)');
    const total = xv.reduce((s, v) => s + v, 0);
    expectHalves(await x.sum().data(), [h(total)], 1, 'sum');
    expectHalves(await x.amax([0, 2]).data(), [0, 1, 2].map((j) => Math.max(...[0, 1].flatMap((i) => [0, 1, 2, 3, 4].map((k) => at(i, j, k))))), 0, 'amax');
    const arg = await vals(x.argmax(2));
    expect(arg).toEqual([0, 1].flatMap((i) => [0, 1, 2].map((j) => { const r = [0, 1, 2, 3, 4].map((k) => at(i, j, k)); return r.indexOf(Math.max(...r)); })));
    // Accumulating in float32: the mean of 1000 × 100 is 100 though the half sum overflows, and 4096 + 1s is exact.
    const big = tensor(new Array(1000).fill(100), { dtype: 'float16' });
    expect(await big.mean().item()).toBe(100);
    expect(await big.sum().item()).toBe(Infinity);
    expect(await tensor([2048, ...new Array(64).fill(1)], { dtype: 'float16' }).sum().item()).toBe(2112);
    const cv = [0.1, 0.2, 0.3, 0.4].map(h);
    const cs = await vals(tensor(cv, { dtype: 'float16' }).cumsum(0));
    expectHalves(cs, cv.map((_, i) => h(cv.slice(0, i + 1).reduce((s, v) => s + v, 0))), 1, 'cumsum');
    expectHalves(await x.var(2).data(), [0, 1].flatMap((i) => [0, 1, 2].map((j) => {
      const r = [0, 1, 2, 3, 4].map((k) => at(i, j, k));
      const m = r.reduce((s, v) => s + v, 0) / 5;
      return h(r.reduce((s, v) => s + (v - m) ** 2, 0) / 4);
    })), 3, 'var');
  });

  it('matmul: float32 accumulation, batched and transposed operands', async () => {
    const [M, K, N] = [5, 64, 3];
    const av = halves(4, 2 * M * K);
    const bv = halves(5, N * K);
    const a = tensor(Float32Array.from(av), { dtype: 'float16', shape: [2, M, K] });
    const bT = tensor(Float32Array.from(bv), { dtype: 'float16', shape: [N, K] });
    const out = a.matmul(bT.mT);
    expect(out.dtype).toBe('float16');
    expect(out.shape).toEqual([2, M, N]);
    const want: number[] = [];
    for (let p = 0; p < 2; p++)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += av[(p * M + m) * K + k]! * bv[n * K + k]!;
          want.push(h(s));
        }
    expectHalves(await out.data(), want, 1, 'matmul', 2e-5);
    // A float16 operand with a float32 one promotes to float32.
    expect(a.matmul(bT.mT.float()).dtype).toBe('float32');
    // Inner products whose float32 sum is exact: 2048 + 1·1 + … must not stall at 2048 as a half accumulator would.
    const ones = tensor(new Float32Array(32).fill(1), { dtype: 'float16', shape: [1, 32] });
    const col = tensor(Float32Array.from([2048, ...new Array(31).fill(1)]), { dtype: 'float16', shape: [32, 1] });
    expect(await ones.matmul(col).item()).toBe(2080);
  });

  it('softmax, logSoftmax, layerNorm and rmsNorm on float16 rows', async () => {
    const rows = 3;
    const n = 70; // longer than a 64-lane workgroup
    const xv = halves(6, rows * n, -4, 4);
    const x = tensor(Float32Array.from(xv), { dtype: 'float16', shape: [rows, n] });
    const row = (r: number) => xv.slice(r * n, (r + 1) * n);
    const softmaxRef = (v: number[]) => {
      const m = Math.max(...v);
      const e = v.map((t) => Math.exp(t - m));
      const s = e.reduce((a, b) => a + b, 0);
      return { p: e.map((t) => t / s), ls: v.map((t) => t - m - Math.log(s)) };
    };
    expectHalves(await x.softmax(-1).data(), [0, 1, 2].flatMap((r) => softmaxRef(row(r)).p.map(h)), 2, 'softmax');
    expectHalves(await x.logSoftmax(-1).data(), [0, 1, 2].flatMap((r) => softmaxRef(row(r)).ls.map(h)), 2, 'logSoftmax');
    // Over a non-last dim (the input is read through a transpose).
    expect(x.mT.softmax(0).dtype).toBe('float16');
    expectHalves(await x.mT.softmax(0).mT.contiguous().data(), [0, 1, 2].flatMap((r) => softmaxRef(row(r)).p.map(h)), 2, 'softmax(0)');
    const wv = halves(7, n, 0.5, 1.5);
    const bv = halves(8, n);
    const w = tensor(wv, { dtype: 'float16' });
    const b = tensor(bv, { dtype: 'float16' });
    const ln = (v: number[]) => {
      const m = v.reduce((s, t) => s + t, 0) / n;
      const r = 1 / Math.sqrt(v.reduce((s, t) => s + (t - m) ** 2, 0) / n + 1e-5);
      return v.map((t, i) => h((t - m) * r * wv[i]! + bv[i]!));
    };
    const out = layerNorm(x, [n], w, b);
    expect(out.dtype).toBe('float16');
    expectHalves(await out.data(), [0, 1, 2].flatMap((r) => ln(row(r))), 2, 'layerNorm');
    const rms = (v: number[]) => {
      const r = 1 / Math.sqrt(v.reduce((s, t) => s + t * t, 0) / n + 2 ** -10);
      return v.map((t, i) => h(t * r * wv[i]!));
    };
    expectHalves(await rmsNorm(x, [n], w).data(), [0, 1, 2].flatMap((r) => rms(row(r))), 2, 'rmsNorm (eps = float16 machine epsilon)');
  });

  it('indexing, gather, scatter, sort and joins move halves exactly', async () => {
    const xv = halves(9, 12);
    const x = tensor(Float32Array.from(xv), { dtype: 'float16', shape: [3, 4] });
    const idx = tensor([[3, 0], [1, 1], [2, 3]], { dtype: 'int32' });
    expect(await vals(gather(x, 1, idx))).toEqual([xv[3], xv[0], xv[5], xv[5], xv[10], xv[11]]);
    expect(await vals(x.indexSelect(0, tensor([2, 0], { dtype: 'int32' })))).toEqual([...xv.slice(8), ...xv.slice(0, 4)]);
    const base = zeros([2, 5], { dtype: 'float16' });
    const src = tensor([[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]], { dtype: 'float16' });
    // Neighbouring positions share a 32-bit word on WebGPU: each write must leave the other half alone.
    const si = tensor([[4, 1, 2], [0, 3, 2]], { dtype: 'int32' });
    expect(await vals(base.scatter(1, si, src))).toEqual([0, 1.5, 2.5, 0, 0.5, 3.5, 0, 5.5, 4.5, 0]);
    const dup = tensor([[4, 1, 2], [0, 3, 0]], { dtype: 'int32' });
    expect(await vals(base.scatterAdd(1, dup, src))).toEqual([0, 1.5, 2.5, 0, 0.5, 9, 0, 0, 4.5, 0]);
    // scatter-add rounds to half: 2048 + 1 stays 2048.
    expect(await vals(tensor([2048, 0], { dtype: 'float16' }).scatterAdd(0, tensor([0], { dtype: 'int32' }), tensor([1], { dtype: 'float16' })))).toEqual([2048, 0]);
    const sorted = x.sort(1, true);
    expect(await vals(sorted.values)).toEqual([0, 1, 2].flatMap((r) => xv.slice(r * 4, r * 4 + 4).sort((p, q) => q - p)));
    expect(sorted.values.dtype).toBe('float16');
    const top = x.topk(2, 1);
    expect(top.values.dtype).toBe('float16');
    expect(await vals(x.maskedFill(x.lt(0), -1))).toEqual(xv.map((v) => (v < 0 ? -1 : v)));
    expect(await vals(cat([x, x.narrow(0, 1, 1)], 0))).toEqual([...xv, ...xv.slice(4, 8)]);
    expect(await vals(stack([x.select(1, 0), x.select(1, 3)], 0))).toEqual([xv[0], xv[4], xv[8], xv[3], xv[7], xv[11]]);
    expect(cat([x, x.float()], 0).dtype).toBe('float32');
  });

  it('strided, odd-offset, flipped and broadcast views are read and written in place', async () => {
    const xv = halves(10, 5 * 7);
    const x = tensor(Float32Array.from(xv), { dtype: 'float16', shape: [5, 7] });
    const at = (r: number, c: number) => xv[r * 7 + c]!;
    // Odd element offsets land in the upper half of a word.
    const win = x.narrow(1, 1, 5).narrow(0, 1, 3);
    const want = [1, 2, 3].flatMap((r) => [1, 2, 3, 4, 5].map((c) => at(r, c)));
    expect(await vals(win)).toEqual(want);
    expect(await vals(win.contiguous())).toEqual(want);
    expect(await vals(x.select(0, 3).narrow(0, 3, 3))).toEqual([at(3, 3), at(3, 4), at(3, 5)]);
    expect(await vals(x.mT)).toEqual([0, 1, 2, 3, 4, 5, 6].flatMap((c) => [0, 1, 2, 3, 4].map((r) => at(r, c))));
    expect(await vals(x.flip(1).narrow(0, 0, 1))).toEqual([6, 5, 4, 3, 2, 1, 0].map((c) => at(0, c)));
    expectHalves(await win.mT.mul(2).add(x.narrow(0, 0, 1).narrow(1, 0, 3)).data(),
      [1, 2, 3, 4, 5].flatMap((c) => [1, 2, 3].map((r) => h(2 * at(r, c) + at(0, r - 1)))), 1, 'strided binary');
    const col = tensor([[1], [2], [3]], { dtype: 'float16' });
    expect(await vals(col.expand([3, 4]).mul(0.5))).toEqual([0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1, 1.5, 1.5, 1.5, 1.5]);
    // Writes into every other element (the two halves of each word belong to different writes), in place.
    const y = zeros([2, 6], { dtype: 'float16' });
    noGrad(() => {
      y.slice(1, 0, null, 2).add_(1);
      y.slice(1, 1, null, 2).add_(tensor([2, 3, 4], { dtype: 'float16' }));
      y.select(0, 1).narrow(0, 1, 3).copy_(tensor([0.1, 0.2, 0.3]));
    });
    expect(await vals(y)).toEqual([1, 2, 1, 3, 1, 4, 1, h(0.1), h(0.2), h(0.3), 1, 4]);
  });

  it('promotion: float16 with float32 gives float32, with scalars and 0-dim tensors stays float16', async () => {
    const a = tensor([1.5, 2.5], { dtype: 'float16' });
    expect(a.add(tensor([1, 1], { dtype: 'float32' })).dtype).toBe('float32');
    expect(a.add(0.1).dtype).toBe('float16');
    expect(a.mul(3).dtype).toBe('float16');
    expect(a.add(tensor(1, { dtype: 'float32' })).dtype).toBe('float16');
    expect(a.add(tensor([1, 2], { dtype: 'int32' })).dtype).toBe('float16');
    expect(tensor([1, 2], { dtype: 'int32' }).mul(0.5).dtype).toBe('float32');
    expect(tensor([1, 2], { dtype: 'int32' }).div(tensor([2, 2], { dtype: 'int32' })).dtype).toBe('float32');
    expect(a.div(2).dtype).toBe('float16');
    expect(tensor([true]).add(a).dtype).toBe('float16');
    expect(await vals(a.add(tensor([0.25, 0.25], { dtype: 'float32' })))).toEqual([1.75, 2.75]);
    if (hasFloat64(name)) expect(a.add(tensor([1, 1], { dtype: 'float64' })).dtype).toBe('float64');
  });

  it('backward through a float16 graph matches the float32 gradients at half tolerance', async () => {
    const xv = halves(11, 4 * 6, -1, 1);
    const wv = halves(12, 6 * 3, -1, 1);
    const run = (dtype: 'float16' | 'float32') => {
      const x = tensor(Float32Array.from(xv), { dtype, shape: [4, 6], requiresGrad: true });
      const w = tensor(Float32Array.from(wv), { dtype, shape: [6, 3], requiresGrad: true });
      const y = x.matmul(w).tanh().mul(x.sum(1, true)).softmax(-1).log().mean();
      y.backward();
      return { y, gx: x.grad!, gw: w.grad! };
    };
    const half = run('float16');
    const full = run('float32');
    expect(half.y.dtype).toBe('float16');
    expect(half.gx.dtype).toBe('float16');
    expect(half.gw.dtype).toBe('float16');
    const close = async (a: Tensor, b: Tensor, what: string) => {
      const [p, q] = [await vals(a), await vals(b)];
      p.forEach((v, i) => expect(Math.abs(v - q[i]!), `${what}[${i}]: ${v} vs ${q[i]}`).toBeLessThanOrEqual(4e-3 + 1e-2 * Math.abs(q[i]!)));
    };
    await close(half.y, full.y, 'loss');
    await close(half.gx, full.gx, 'x.grad');
    await close(half.gw, full.gw, 'w.grad');
  });

  it('attention (fused where the backend has it) and its gradients on float16 match float32 at half tolerance', async () => {
    const shape = [1, 2, 5, 8];
    const [qv, kv, vv] = [13, 14, 15].map((seed) => halves(seed, 80, -1, 1));
    const run = (dtype: 'float16' | 'float32', causal: boolean) => {
      const [q, k, v] = [qv, kv, vv].map((d) => tensor(Float32Array.from(d!), { dtype, shape, requiresGrad: true })) as [Tensor, Tensor, Tensor];
      const out = sdpa(q, k, v, { isCausal: causal });
      out.mul(tensor(Float32Array.from(halves(16, 80)), { dtype, shape })).sum().backward();
      return [out, q.grad!, k.grad!, v.grad!];
    };
    for (const causal of [false, true]) {
      const half = run('float16', causal);
      const full = run('float32', causal);
      for (let i = 0; i < 4; i++) {
        expect(half[i]!.dtype).toBe('float16');
        const [p, q] = [await vals(half[i]!), await vals(full[i]!)];
        p.forEach((x, j) => expect(Math.abs(x - q[j]!), `causal ${causal}, output ${i}[${j}]: ${x} vs ${q[j]}`).toBeLessThanOrEqual(3e-3 + 5e-3 * Math.abs(q[j]!)));
      }
    }
  });

  it('a float16 MLP trains with SGD: the loss falls', async () => {
    const g = new Generator(3);
    const l1 = new Linear(4, 16, { dtype: 'float16', generator: g });
    const l2 = new Linear(16, 1, { dtype: 'float16', generator: g });
    expect(l1.weight.dtype).toBe('float16');
    const x = randn([32, 4], { dtype: 'float16', generator: g });
    const y = scope(() => x.matmul(tensor([[1], [-2], [0.5], [1]], { dtype: 'float16' })).tanh());
    const opt = new SGD([...l1.parameters(), ...l2.parameters()], { lr: 0.1, momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const loss = scope(() => {
        opt.zeroGrad();
        const l = l2.forward(l1.forward(x).relu()).sub(y).square().mean();
        l.backward();
        opt.step();
        return l.detach();
      });
      if (step % 10 === 0 || step === 39) losses.push(await loss.item());
      loss.dispose();
    }
    expect(l1.weight.dtype).toBe('float16');
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
  });
});

describe.runIf(BACKENDS.includes('webgpu'))('float16 on a WebGPU device without shader-f16', () => {
  it('throws a DTypeError naming the backend, the dtype and the missing feature', async () => {
    const { initWebGPU } = await import('@tessera/backend-webgpu');
    const b = await initWebGPU({ name: 'webgpu-no-f16', float16: false });
    expect(b.capabilities.dtypes).not.toContain('float16');
    const msg = /webgpu-no-f16.*float16.*shader-f16|float16.*webgpu-no-f16.*shader-f16/;
    expect(() => tensor([1, 2], { dtype: 'float16', device: 'webgpu-no-f16' })).toThrow(DTypeError);
    expect(() => tensor([1, 2], { dtype: 'float16', device: 'webgpu-no-f16' })).toThrow(msg);
    expect(() => tensor([1, 2], { device: 'webgpu-no-f16' }).half()).toThrow(msg);
    expect(() => zeros([2], { dtype: 'float16', device: 'webgpu-no-f16' })).toThrow(DTypeError);
  });
});

describe.runIf(BACKENDS.includes('webgpu'))('float16 in the GPU matmul kernels (not the default on lavapipe)', () => {
  it.each([['tiled', 70], ['large', 130]] as const)('the %s kernel reads and writes halves', async (kind, side) => {
    const { getWebGPUBackend, WebGPUBackend } = await import('@tessera/backend-webgpu');
    const b = new WebGPUBackend(getWebGPUBackend()!.device, { name: `webgpu-f16-${kind}`, matmul: kind });
    const [M, K, N] = [side, 20, side - 3];
    const [av, bv] = [halves(17, M * K), halves(18, K * N)];
    const view = (data: number[], shape: number[]) => ({
      buffer: b.upload(Float32Array.from(data), 'float16'), shape, strides: [shape[1]!, 1], offset: 0, dtype: 'float16' as const,
    });
    const [va, vb] = [view(av, [M, K]), view(bv, [K, N])];
    const out = b.matmul(va, vb, 'float16');
    const got = await b.read({ buffer: out, shape: [M, N], strides: [N, 1], offset: 0, dtype: 'float16' });
    const want = Array.from({ length: M * N }, (_, i) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += av[Math.floor(i / N) * K + k]! * bv[k * N + (i % N)]!;
      return h(s);
    });
    expectHalves(got, want, 1, `${kind} matmul`, 2e-5);
    for (const buf of [va.buffer, vb.buffer, out]) b.free(buf);
  });
});
