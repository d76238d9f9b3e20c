/** Creation functions, ranges, and seeded random numbers (reproducible per seed and across backends). */
import { describe, expect, it } from 'vitest';
import * as math from 'mathjs';
import {
  arange, full, fullLike, Generator, linspace, manualSeed, ones, onesLike, rand, randint, randLike, randn, randnLike, randperm,
  tensor, zeros, zerosLike,
} from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { floatSetup, useBackend, vals } from './helpers.js';

describe.each(BACKENDS)('creation (%s)', (name) => {
  useBackend(name);
  const { F } = floatSetup(name);

  it('tensor() from nested arrays: shape, default dtypes, device', async () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.device).toBe(name);
    expect(await t.array()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor(3.5).shape).toEqual([]);
    expect(await tensor(3.5).item()).toBe(3.5);
    expect(tensor([true, false]).dtype).toBe('bool');
    expect(await tensor([true, false]).array()).toEqual([true, false]);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
    expect(tensor([1.7, -2.7], { dtype: 'int32' }).dtype).toBe('int32');
    expect(await vals(tensor([1.7, -2.7], { dtype: 'int32' }))).toEqual([1, -2]); // truncates like a C cast
    const g = tensor([1, 2], { dtype: F, requiresGrad: true });
    expect(g.requiresGrad).toBe(true);
    expect(g.isLeaf).toBe(true);
  });

  it('tensor() from typed arrays keeps their dtype and copies the data', async () => {
    const src = new Int32Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(src, { shape: [2, 3] });
    expect(t.dtype).toBe('int32');
    expect(t.shape).toEqual([2, 3]);
    src[0] = 100;
    expect((await vals(t))[0]).toBe(1);
    expect(tensor(new Float32Array([0.5])).dtype).toBe('float32');
    expect(tensor(new Uint8Array([1, 0])).dtype).toBe('bool');
    expect(tensor(new Float32Array([1.5, 2.5]), { dtype: 'int32' }).dtype).toBe('int32');
    if (F === 'float64') expect(tensor(new Float64Array([0.1])).dtype).toBe('float64');
  });

  it('zeros/ones/full and the *Like variants', async () => {
    expect(await zeros([2, 2]).array()).toEqual([[0, 0], [0, 0]]);
    expect(await ones([3], { dtype: 'int32' }).array()).toEqual([1, 1, 1]);
    expect(ones([3], { dtype: 'int32' }).dtype).toBe('int32');
    expect(await full([2], 7.5).array()).toEqual([7.5, 7.5]);
    expect(full([2], true).dtype).toBe('bool');
    expect(zeros([0, 3]).shape).toEqual([0, 3]);
    expect(zeros([]).shape).toEqual([]);
    const base = tensor([[1, 2]], { dtype: 'int32' });
    for (const t of [zerosLike(base), onesLike(base), fullLike(base, 4), base.zerosLike(), base.onesLike()]) {
      expect(t.shape).toEqual([1, 2]);
      expect(t.dtype).toBe('int32');
      expect(t.device).toBe(name);
    }
    expect(await fullLike(base, 4).array()).toEqual([[4, 4]]);
    expect(zerosLike(base, { dtype: F }).dtype).toBe(F);
    const f = tensor([1, 2, 3], { dtype: F });
    expect(randLike(f).shape).toEqual([3]);
    expect(randnLike(f).dtype).toBe(F);
  });

  it('arange with integer, negative and float steps (integers give int32)', async () => {
    expect(await arange(5).array()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(5).dtype).toBe('int32');
    expect(await arange(2, 8, 2).array()).toEqual([2, 4, 6]);
    expect(await arange(10, 0, -3).array()).toEqual([10, 7, 4, 1]);
    expect(await arange(3, 3).array()).toEqual([]);
    expect(await arange(3, 0).array()).toEqual([]);
    expect(arange(0, 1, 0.1).dtype).toBe('float32');
    expect(arange(0, 1, 0.1).shape).toEqual([10]);
    expectClose(await arange(5, 0, -1.5).data(), [5, 3.5, 2, 0.5]);
    expectClose(await arange(0, 1, 0.25, { dtype: F }).data(), math.range(0, 1, 0.25).toArray() as number[]);
    expect(arange(4, undefined, 1, { dtype: F }).dtype).toBe(F);
  });

  it('linspace includes both ends', async () => {
    expectClose(await linspace(0, 1, 5, { dtype: F }).data(), [0, 0.25, 0.5, 0.75, 1]);
    expectClose(await linspace(-1, 1, 1).data(), [-1]);
    expect(linspace(0, 1, 0).shape).toEqual([0]);
    const l = await vals(linspace(0.1, 0.7, 7, { dtype: F }));
    expect(l.at(-1)).toBe(F === 'float64' ? 0.7 : Math.fround(0.7));
    expectClose(l, math.range(0.1, 0.75, 0.1).toArray() as number[], { atol: 1e-6 });
    expectClose(await linspace(3, -3, 4, { dtype: F }).data(), [3, 1, -1, -3]);
  });

  it('the same seed gives the same numbers; draws advance the generator', async () => {
    manualSeed(1234);
    const a = await vals(rand([8], { dtype: F }));
    const b = await vals(randn([8], { dtype: F }));
    manualSeed(1234);
    expect(await vals(rand([8], { dtype: F }))).toEqual(a);
    expect(await vals(randn([8], { dtype: F }))).toEqual(b);
    expect(await vals(rand([8], { dtype: F }))).not.toEqual(a);
    manualSeed(1235);
    expect(await vals(rand([8], { dtype: F }))).not.toEqual(a);
  });

  it('Generator objects are independent of the default generator and of each other', async () => {
    const g1 = new Generator(7);
    const g2 = new Generator(7);
    const x = await vals(randn([6], { generator: g1 }));
    manualSeed(99);
    void rand([100]); // advancing the default generator must not matter
    expect(await vals(randn([6], { generator: g2 }))).toEqual(x);
    expect(g1.initialSeed()).toBe(7);
    const state = g1.getState();
    const next = await vals(rand([4], { generator: g1 }));
    g1.setState(state);
    expect(await vals(rand([4], { generator: g1 }))).toEqual(next);
    expect(await vals(randint(0, 10, [5], { generator: new Generator(3) }))).toEqual(await vals(randint(0, 10, [5], { generator: new Generator(3) })));
    expect(await vals(randperm(9, { generator: new Generator(5) }))).toEqual(await vals(randperm(9, { generator: new Generator(5) })));
  });

  it('random numbers are identical to the reference backend for the same seed', async () => {
    const here = (seed: number) => ({ generator: new Generator(seed), device: name });
    const ref = (seed: number) => ({ generator: new Generator(seed), device: 'reference' });
    expect(await vals(rand([64], here(11)))).toEqual(await vals(rand([64], ref(11))));
    expectClose(await randn([64], here(12)).data(), await randn([64], ref(12)).data(), { atol: 1e-6, rtol: 1e-6 });
    expect(await vals(randint(-5, 5, [64], here(13)))).toEqual(await vals(randint(-5, 5, [64], ref(13))));
    expect(await vals(randperm(32, here(14)))).toEqual(await vals(randperm(32, ref(14))));
    if (F === 'float64') expect(await vals(rand([16], { ...here(15), dtype: 'float64' }))).toEqual(await vals(rand([16], { ...ref(15), dtype: 'float64' })));
  });

  it('rough distributions: 10k uniforms and normals', async () => {
    const g = new Generator(2024);
    const u = rand([10000], { generator: g, dtype: F });
    const uv = await vals(u);
    expect(uv.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Math.abs(Number(math.mean(uv)) - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(Number(math.variance(uv)) - 1 / 12)).toBeLessThan(0.01);
    const n = randn([100, 100], { generator: g, dtype: F });
    expect(n.shape).toEqual([100, 100]);
    expect(Math.abs(await n.mean().item())).toBeLessThan(0.05);
    expect(Math.abs((await n.var().item()) - 1)).toBeLessThan(0.05);
    const nv = await vals(n);
    const within1 = nv.filter((v) => Math.abs(v) < 1).length / nv.length;
    expect(Math.abs(within1 - 0.6827)).toBeLessThan(0.02);
  });

  it('randint stays in [low, high) and hits every value; randperm is a permutation', async () => {
    const r = randint(-3, 4, [5000], { generator: new Generator(1) });
    expect(r.dtype).toBe('int32');
    const rv = await vals(r);
    expect(rv.every((v) => Number.isInteger(v) && v >= -3 && v < 4)).toBe(true);
    expect(new Set(rv).size).toBe(7);
    const p = randperm(50, { generator: new Generator(2) });
    expect(p.dtype).toBe('int32');
    const pv = await vals(p);
    expect([...pv].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(pv).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(randperm(0).shape).toEqual([0]);
  });
});
