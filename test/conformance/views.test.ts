/**
 * View ops: values (hand-computed, mathjs for reshape/flatten/transpose), layouts, and that every view shares its
 * base's storage — a write through the view shows in the base and vice versa.
 */
import { describe, expect, it } from 'vitest';
import * as math from 'mathjs';
import { arange, asStrided, diagonal, noGrad, tensor, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { flatNested, useBackend, vals, type Nested } from './helpers.js';

/** [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] as float32. */
const grid = () => arange(12, undefined, 1, { dtype: 'float32' }).reshape(3, 4);
const nested = (): number[][] => [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]];

/** Asserts v is a view of base: same storage, and writes go both ways. */
async function expectShares(base: Tensor, v: Tensor): Promise<void> {
  expect(v.storage).toBe(base.storage);
  if (v.numel() === 0) return;
  noGrad(() => v.fill_(-1));
  const written = (await vals(base)).filter((x) => x === -1).length;
  expect(written, 'a write through the view shows in the base').toBeGreaterThan(0);
  noGrad(() => base.copy_(tensor(-2, { dtype: base.dtype })));
  expect((await vals(v)).every((x) => x === -2), 'a write into the base shows in the view').toBe(true);
}

describe.each(BACKENDS)('view ops (%s)', (name) => {
  useBackend(name);

  it('view/reshape/flatten/unflatten match mathjs reshape and flatten', async () => {
    const x = grid();
    expect(await x.view(2, 6).array()).toEqual(math.reshape(nested(), [2, 6]));
    expect(await x.view([6, -1]).array()).toEqual(math.reshape(nested(), [6, 2]));
    expect(await x.reshape(4, 3).array()).toEqual(math.reshape(nested(), [4, 3]));
    expect(await x.flatten().array()).toEqual(math.flatten(nested()));
    expect(await x.reshape(2, 3, 2).flatten(1).array()).toEqual(math.reshape(nested(), [2, 6]));
    expect(x.reshape(2, 3, 2).flatten(0, 1).shape).toEqual([6, 2]);
    expect(x.unflatten(1, [2, -1]).shape).toEqual([3, 2, 2]);
    expect(tensor(5).flatten().shape).toEqual([1]);
    for (const v of [x.view(2, 6), x.reshape(4, 3), x.flatten(), x.unflatten(1, [2, 2])]) {
      expect(v.isContiguous()).toBe(true);
      await expectShares(x, v);
    }
  });

  it('reshape of a non-viewable layout copies; view of a viewable non-contiguous one shares', async () => {
    const x = grid();
    const t = x.T; // [4, 3], strides [1, 4]
    expect(t.isContiguous()).toBe(false);
    const r = t.reshape(12);
    expect(r.storage).not.toBe(x.storage);
    expect(await r.array()).toEqual(math.flatten(math.transpose(nested())));
    // Splitting a dim of a transposed tensor is still a view.
    const split = t.view(2, 2, 3);
    expect(await split.array()).toEqual(math.reshape(math.transpose(nested()), [2, 2, 3]));
    await expectShares(x, split);
  });

  it('permute/transpose/t/T/mT', async () => {
    const x = grid();
    expect(await x.t().array()).toEqual(math.transpose(nested()));
    expect(await x.transpose(0, 1).array()).toEqual(math.transpose(nested()));
    const y = arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);
    const p = y.permute(2, 0, 1);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.strides).toEqual([1, 12, 4]);
    expect(await p.index(1, 1, 2).item()).toBe(12 + 2 * 4 + 1);
    expect(y.mT.shape).toEqual([2, 4, 3]);
    expect(y.T.shape).toEqual([4, 3, 2]);
    expect(await y.T.index(3, 2, 1).item()).toBe(12 + 8 + 3);
    for (const v of [x.t(), p, y.mT]) expect(v.isContiguous()).toBe(false);
    await expectShares(x, x.t());
    await expectShares(y, p);
    await expectShares(y, y.mT);
  });

  it('squeeze/unsqueeze/expand/expandAs/broadcastTo', async () => {
    const x = tensor([[1], [2], [3]], { dtype: 'float32' });
    expect(x.squeeze().shape).toEqual([3]);
    expect(x.squeeze(0).shape).toEqual([3, 1]); // size 3: not squeezed
    expect(x.squeeze(-1).shape).toEqual([3]);
    expect(x.unsqueeze(0).shape).toEqual([1, 3, 1]);
    expect(x.unsqueeze(-1).shape).toEqual([3, 1, 1]);
    const e = x.expand(2, 3, 4);
    expect(e.shape).toEqual([2, 3, 4]);
    expect(e.strides[0]).toBe(0);
    expect(e.isContiguous()).toBe(false);
    expect(await x.expand(-1, 2).array()).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(x.expandAs(tensor([[0, 0], [0, 0], [0, 0]])).shape).toEqual([3, 2]);
    expect(x.broadcastTo([3, 5]).shape).toEqual([3, 5]);
    for (const v of [x.squeeze(), x.unsqueeze(1), x.expand(3, 4)]) await expectShares(x, v);
  });

  it('narrow/select/slice with Python semantics', async () => {
    const x = grid();
    expect(await x.narrow(1, 1, 2).array()).toEqual([[1, 2], [5, 6], [9, 10]]);
    expect(await x.narrow(0, -2, 2).array()).toEqual([[4, 5, 6, 7], [8, 9, 10, 11]]);
    expect(await x.select(0, 1).array()).toEqual([4, 5, 6, 7]);
    expect(await x.select(1, -1).array()).toEqual([3, 7, 11]);
    expect(await x.slice(1, 1, null, 2).array()).toEqual([[1, 3], [5, 7], [9, 11]]);
    expect(await x.slice(1, null, null, -1).array()).toEqual([[3, 2, 1, 0], [7, 6, 5, 4], [11, 10, 9, 8]]);
    expect(await x.slice(1, -1, 0, -2).array()).toEqual([[3, 1], [7, 5], [11, 9]]);
    expect(await x.slice(0, 5, 10).array()).toEqual([]); // clamps, empty
    expect(x.slice(0, 5, 10).shape).toEqual([0, 4]);
    expect(x.narrow(0, 1, 1).isContiguous()).toBe(true);
    expect(x.narrow(1, 1, 1).isContiguous()).toBe(false); // rows are still 4 apart, as in PyTorch
    expect(x.narrow(1, 1, 2).isContiguous()).toBe(false);
    for (const v of [x.narrow(1, 1, 2), x.select(0, 2), x.slice(1, null, null, -2)]) await expectShares(x, v);
  });

  it('index() combines ints, slices, null, "..." and int32 tensors', async () => {
    const x = grid();
    expect(await x.index(1).array()).toEqual([4, 5, 6, 7]);
    expect(await x.index(':', 2).array()).toEqual([2, 6, 10]);
    expect(await x.index('1:', '::2').array()).toEqual([[4, 6], [8, 10]]);
    expect(await x.index('...', -1).array()).toEqual([3, 7, 11]);
    expect(x.index(null, 0).shape).toEqual([1, 4]);
    expect(await x.index([null, null, -1], 0).array()).toEqual([8, 4, 0]);
    expect(await x.index(tensor([2, 0], { dtype: 'int32' }), 1).array()).toEqual([9, 1]);
    expect(await x.index(1, 2).item()).toBe(6);
  });

  it('flip reverses with negative strides', async () => {
    const x = grid();
    const f = x.flip(0);
    expect(await f.array()).toEqual([...nested()].reverse());
    expect(await x.flip([0, 1]).array()).toEqual([...nested()].reverse().map((r) => [...r].reverse()));
    expect(await x.flip(-1).array()).toEqual(nested().map((r) => [...r].reverse()));
    expect(f.isContiguous()).toBe(false);
    await expectShares(x, f);
  });

  it('diagonal with offsets and dims (math.diag for 2-D)', async () => {
    const x = grid();
    for (const k of [0, 1, 3, -1, -2, 5])
      expect(await x.diagonal(k).array(), `offset ${k}`).toEqual(k >= 4 || k <= -3 ? [] : (math.diag(nested(), k) as number[]));
    const y = arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);
    const d = diagonal(y, 0, 1, 2);
    expect(d.shape).toEqual([2, 3]);
    expect(await d.array()).toEqual([[0, 5, 10], [12, 17, 22]]);
    expect(await diagonal(y, 1, 0, 2).array()).toEqual([[1, 14], [5, 18], [9, 22]]);
    await expectShares(y, d);
  });

  it('asStrided addresses the storage directly (overlapping windows allowed)', async () => {
    const x = arange(6, undefined, 1, { dtype: 'float32' });
    const w = x.asStrided([4, 3], [1, 1]);
    expect(await w.array()).toEqual([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]);
    expect(await asStrided(x, [2, 2], [3, 1], 1).array()).toEqual([[1, 2], [4, 5]]);
    // Relative to the storage, not to the view's offset.
    expect(await x.narrow(0, 2, 3).asStrided([2], [2], 0).array()).toEqual([0, 2]);
    await expectShares(x, w);
  });

  it('detach shares storage; contiguous returns self or a copy; clone always copies', async () => {
    const base = grid();
    await expectShares(base, base.detach());
    const x = grid();
    expect(x.contiguous()).toBe(x);
    const c = x.T.contiguous();
    expect(c.isContiguous()).toBe(true);
    expect(c.storage).not.toBe(x.storage);
    expect(await c.array()).toEqual(math.transpose(nested()));
    const k = x.clone();
    expect(k.storage).not.toBe(x.storage);
    noGrad(() => k.fill_(0));
    expect((await vals(x)).some((v) => v !== 0)).toBe(true);
  });

  it('split and chunk return views', async () => {
    const x = grid();
    const parts = x.split(1, 1);
    expect(parts.length).toBe(4);
    for (const p of parts) expect(p.storage).toBe(x.storage);
    const y = grid();
    const [first] = y.chunk(2, 0);
    await expectShares(y, first!);
  });

  it('nested views of views compose offsets and strides', async () => {
    const x = arange(60, undefined, 1, { dtype: 'float32' }).reshape(3, 4, 5);
    const v = x.select(0, 1).T.slice(0, 1, null, 2).narrow(1, 1, 2); // [[26, 31], [28, 33]]
    expect(await v.array()).toEqual([[26, 31], [28, 33]]);
    expect(flatNested((await v.flip(1).array()) as Nested)).toEqual([31, 26, 33, 28]);
    await expectShares(x, v);
  });
});
