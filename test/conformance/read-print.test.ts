/** Reading values back (async everywhere, sync where the backend allows) and the printed form of tensors. */
import { describe, expect, it } from 'vitest';
import { arange, backendByName, DeviceError, rand, ShapeError, tensor, zeros } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { useBackend } from './helpers.js';

describe.each(BACKENDS)('reading values (%s)', (name) => {
  useBackend(name);
  const canSync = backendByName(name).capabilities.readSync;

  it('data() gives row-major typed arrays of the dtype, even for strided views', async () => {
    const x = arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3);
    const d = await x.data();
    expect(d).toBeInstanceOf(Float32Array);
    expect(Array.from(d)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(await x.T.data())).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(await x.expand(2, 2, 3).select(0, 1).flip(1).data())).toEqual([2, 1, 0, 5, 4, 3]);
    expect(await arange(3).data()).toBeInstanceOf(Int32Array);
    expect(await tensor([true]).data()).toBeInstanceOf(Uint8Array);
  });

  it('array() nests by shape (booleans for bool tensors); item() reads one element', async () => {
    expect(await arange(4).reshape(2, 1, 2).array()).toEqual([[[0, 1]], [[2, 3]]]);
    expect(await tensor([[true, false]]).array()).toEqual([[true, false]]);
    expect(await tensor(2.5).array()).toBe(2.5);
    expect(await zeros([2, 0]).array()).toEqual([[], []]);
    expect(await tensor([[7]]).item()).toBe(7);
    await expect(tensor([1, 2]).item()).rejects.toThrow(ShapeError);
    await expect(tensor([1, 2]).item()).rejects.toThrow(/item: .*one element.*\[2\]/);
  });

  it('sync reads work where the backend allows and fail clearly elsewhere', async () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'int32' });
    if (canSync) {
      expect(Array.from(x.dataSync())).toEqual([1, 2, 3, 4]);
      expect(x.arraySync()).toEqual([[1, 2], [3, 4]]);
      expect(x.select(1, 1).arraySync()).toEqual([2, 4]);
      expect(tensor(5).itemSync()).toBe(5);
      expect(() => x.itemSync()).toThrow(ShapeError);
    } else {
      expect(() => x.dataSync()).toThrow(DeviceError);
      expect(() => x.dataSync()).toThrow(/dataSync: .*await tensor\.data\(\)/);
    }
  });
});

describe.each(BACKENDS)('printing (%s)', (name) => {
  useBackend(name);
  const canSync = backendByName(name).capabilities.readSync;
  const meta = (shape: string, dtype: string) => `shape=${shape}, dtype=${dtype}, device=${name}`;

  it('shows values, shape, dtype and device', () => {
    const s = String(tensor([[1, 2], [3, 4]], { dtype: 'int32' }));
    expect(s).toContain(meta('[2, 2]', 'int32'));
    if (!canSync) return expect(s).toContain('await t.data()');
    expect(s).toBe(`tensor([[1, 2],\n        [3, 4]], ${meta('[2, 2]', 'int32')})`);
    expect(String(tensor([1.5, -2.25, 3]))).toBe(`tensor([ 1.5000, -2.2500,  3.0000], ${meta('[3]', 'float32')})`);
    expect(String(tensor([1, 2]))).toBe(`tensor([1., 2.], ${meta('[2]', 'float32')})`);
    expect(String(tensor([true, false]))).toBe(`tensor([ true, false], ${meta('[2]', 'bool')})`);
    expect(String(tensor(3.5))).toBe(`tensor(3.5000, ${meta('[]', 'float32')})`);
    expect(String(tensor([NaN, Infinity, -Infinity, 1]))).toBe(`tensor([ nan,  inf, -inf,   1.], ${meta('[4]', 'float32')})`);
    expect(String(tensor([1e-6, 1]))).toMatch(/1\.0000e-6/);
    expect(String(arange(8).reshape(2, 2, 2))).toBe(`tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]], ${meta('[2, 2, 2]', 'int32')})`);
  });

  it('shows gradFn for op results and requiresGrad for leaves', () => {
    const leaf = tensor([1, 2], { requiresGrad: true });
    expect(String(leaf)).toContain('requiresGrad=true');
    expect(String(leaf.mul(2).sum())).toContain('gradFn=<sum>');
    expect(String(leaf.mul(2))).toContain('gradFn=<mul>');
    expect(String(leaf.detach())).not.toMatch(/gradFn|requiresGrad/);
  });

  it('summarizes large tensors with "..." and shows disposed ones', () => {
    if (!canSync) return;
    const big = String(arange(1600).reshape(40, 40));
    expect(big).toContain('[0, 1, 2, ..., 37, 38, 39]');
    expect(big).toContain('...,\n');
    expect(big).toContain('[1560, 1561, 1562, ..., 1597, 1598, 1599]');
    expect(big.split('\n').length).toBe(7);
    // A million values: still summarized, no stack overflow from spreading them into Math.max.
    const huge = String(rand([1000, 1000]));
    expect(huge).toContain('...');
    expect(huge.length).toBeLessThan(1000);
    const d = tensor([1]);
    d.dispose();
    expect(String(d)).toContain('<disposed>');
  });
});
