/** Initializers: bounds and moments of the draws, determinism with a generator, in-place semantics, gains. */
import { describe, expect, it } from 'vitest';
import { ArgumentError, erf, Generator, tensor, zeros } from '@tessera/core';
import {
  calculateGain, constant_, erfinv, kaimingNormal_, kaimingUniform_, normal_, ones_, Parameter, truncNormal_, uniform_,
  xavierNormal_, xavierUniform_, zeros_,
} from '../src/index.js';
import { expectClose } from '../../../test/support/close.js';

const stats = (v: ArrayLike<number>) => {
  const a = Array.from(v);
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
  return { mean, std, min: Math.min(...a), max: Math.max(...a) };
};

describe('initializers', () => {
  it('fill parameters in place while grad mode is on, reproducibly with a generator', async () => {
    const p = Parameter(zeros([40, 50]));
    const same = p;
    uniform_(p, -2, 3, { generator: new Generator(1) });
    expect(p).toBe(same);
    expect(p.requiresGrad && p.grad === null).toBe(true);
    const s = stats(await p.data());
    expect(s.min).toBeGreaterThanOrEqual(-2);
    expect(s.max).toBeLessThan(3);
    expect(Math.abs(s.mean - 0.5)).toBeLessThan(0.1);
    const q = Parameter(zeros([40, 50]));
    uniform_(q, -2, 3, { generator: new Generator(1) });
    expect(await q.data()).toEqual(await p.data());
  });

  it('normal_, constant_, zeros_, ones_', async () => {
    const t = zeros([4000], { dtype: 'float64' });
    const s = stats(await normal_(t, 2, 0.5, { generator: new Generator(2) }).data());
    expect(Math.abs(s.mean - 2)).toBeLessThan(0.03);
    expect(Math.abs(s.std - 0.5)).toBeLessThan(0.03);
    expect(Array.from(await constant_(zeros([3]), 7).data())).toEqual([7, 7, 7]);
    expect(Array.from(await zeros_(tensor([1, 2])).data())).toEqual([0, 0]);
    expect(Array.from(await ones_(tensor([5, 2])).data())).toEqual([1, 1]);
  });

  it('truncNormal_ stays within [a, b] with the truncated moments', async () => {
    const t = zeros([4000], { dtype: 'float64' });
    const s = stats(await truncNormal_(t, 1, 2, -1, 3, { generator: new Generator(3) }).data());
    expect(s.min).toBeGreaterThanOrEqual(-1);
    expect(s.max).toBeLessThanOrEqual(3);
    // N(1, 2²) truncated to ±1σ: mean 1, std 2·0.5396.
    expect(Math.abs(s.mean - 1)).toBeLessThan(0.05);
    expect(Math.abs(s.std - 2 * 0.5396)).toBeLessThan(0.04);
    const f32 = stats(await truncNormal_(zeros([2000]), 0, 1, -2, 2, { generator: new Generator(4) }).data());
    expect(f32.min).toBeGreaterThanOrEqual(-2);
    expect(f32.max).toBeLessThanOrEqual(2);
  });

  it('erfinv inverts erf to float64 precision in the central region', async () => {
    const x = tensor([-0.99, -0.5, -1e-3, 0, 0.3, 0.9, 0.995], { dtype: 'float64' });
    expectClose(await erf(erfinv(x)).data(), await x.data(), { atol: 1e-14, rtol: 0 });
    expect(Math.abs((await erfinv(tensor([0.5], { dtype: 'float64' })).data())[0]! - 0.4769362762044699)).toBeLessThan(1e-14);
  });

  it('xavier and kaiming use the fan computations and gains', async () => {
    const w = zeros([200, 100, 3], { dtype: 'float64' });
    const g = new Generator(5);
    const xu = stats(await xavierUniform_(w, 2, { generator: g }).data());
    const xb = 2 * Math.sqrt(6 / (300 + 600));
    expect(xu.max).toBeLessThanOrEqual(xb);
    expect(xu.max).toBeGreaterThan(0.99 * xb);
    expect(Math.abs(stats(await xavierNormal_(w, 1, { generator: g }).data()).std - Math.sqrt(2 / 900))).toBeLessThan(0.002);
    const ku = stats(await kaimingUniform_(w, { a: Math.sqrt(5), generator: g }).data());
    expect(ku.max).toBeLessThanOrEqual(1 / Math.sqrt(300));
    const kn = stats(await kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu', generator: g }).data());
    expect(Math.abs(kn.std - Math.SQRT2 / Math.sqrt(600))).toBeLessThan(0.002);
    expect(() => kaimingUniform_(zeros([3]))).toThrow(/fewer than 2 dims/);
    expect(() => kaimingNormal_(w, { mode: 'fan_in' as never })).toThrow(ArgumentError);
  });

  it('calculateGain matches torch.nn.init.calculate_gain', () => {
    expect(calculateGain('linear')).toBe(1);
    expect(calculateGain('conv2d')).toBe(1);
    expect(calculateGain('sigmoid')).toBe(1);
    expect(calculateGain('tanh')).toBe(5 / 3);
    expect(calculateGain('relu')).toBe(Math.SQRT2);
    expect(calculateGain('selu')).toBe(0.75);
    expect(calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 15);
    expect(calculateGain('leakyRelu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(() => calculateGain('swish')).toThrow(/unsupported nonlinearity/);
  });

  it('rejects integer tensors', () => {
    expect(() => uniform_(zeros([2], { dtype: 'int32' }))).toThrow(/floating-point/);
  });
});
