/**
 * Ops across two devices (a second ReferenceBackend registered under another name stands in for one), use of
 * disposed tensors, autograd misuse and bad argument values.
 */
import { describe, expect, it } from 'vitest';
import {
  arange, ArgumentError, AutogradError, cat, chunk, DeviceError, DisposedError, einsum, eye, full, linspace,
  logicalAnd, manualSeed, matmul, noGrad, oneHot, ones, pad, rand, randint, randperm, ReferenceBackend, registerBackend,
  ShapeError, tensor, where, zeros, type Tensor,
} from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { useBackend } from '../conformance/helpers.js';
import { expectError, expectRejection } from './expect-error.js';

class SecondDevice extends ReferenceBackend {
  override readonly name = 'second-device';
}
registerBackend(new SecondDevice(), -1);
const OTHER = 'second-device';

describe.each(BACKENDS)('device errors (%s)', (name) => {
  useBackend(name);
  const here = () => ones([2, 2]);
  const there = () => ones([2, 2], { device: OTHER });
  const deviceMsg = [`'${name}'`, `'${OTHER}'`, 'same device', '.to()'] as const;

  it('binary, matmul, where, cat, gather, copy_ and logical ops name both devices', () => {
    expectError(() => here().add(there()), DeviceError, 'add', ...deviceMsg);
    expectError(() => there().mul(here()), DeviceError, 'mul', ...deviceMsg);
    expectError(() => matmul(here(), there()), DeviceError, 'matmul', ...deviceMsg);
    expectError(() => where(tensor([true], { device: OTHER }), here(), 0), DeviceError, 'where', ...deviceMsg);
    expectError(() => cat([here(), there()]), DeviceError, 'cat', ...deviceMsg);
    expectError(() => here().gather(0, zeros([1, 2], { dtype: 'int32', device: OTHER })), DeviceError, 'gather', ...deviceMsg);
    expectError(() => here().copy_(there()), DeviceError, 'copy_', ...deviceMsg);
    expectError(() => logicalAnd(here(), there()), DeviceError, 'logicalAnd', ...deviceMsg);
    expectError(() => here().clamp(there()), DeviceError, 'clamp', ...deviceMsg);
    expectError(() => einsum('ij,jk', here(), there()), DeviceError, 'matmul', ...deviceMsg);
  });

  it('moving with .to() makes the op legal; unknown devices are named', async () => {
    const moved = there().to(name);
    expect(moved.device).toBe(name);
    expect(Array.from(await here().add(moved).data())).toEqual([2, 2, 2, 2]);
    expect((await here().toAsync(OTHER)).device).toBe(OTHER);
    expectError(() => ones([2], { device: 'nope' }), DeviceError, 'unknown backend', "'nope'", name);
  });
});

describe.each(BACKENDS)('disposed tensors (%s)', (name) => {
  useBackend(name);
  /** A disposed tensor that was the only handle on its storage, so the storage is freed. */
  const disposed = (): Tensor => {
    const t = tensor([[0, 1, 2], [3, 4, 5]]);
    t.dispose();
    return t;
  };

  it('ops, views and reads on a disposed tensor throw DisposedError naming the op', async () => {
    expectError(() => disposed().add(1), DisposedError, 'add', 'disposed');
    expectError(() => disposed().exp(), DisposedError, 'exp', 'disposed');
    expectError(() => disposed().sum(), DisposedError, 'sum', 'disposed');
    expectError(() => disposed().matmul(ones([3, 1])), DisposedError, 'matmul', 'disposed');
    expectError(() => disposed().view(3, 2), DisposedError, 'view', 'disposed');
    expectError(() => disposed().transpose(0, 1), DisposedError, 'view', 'disposed');
    expectError(() => cat([ones([1, 3]), disposed()]), DisposedError, 'cat', 'disposed');
    await expectRejection(() => disposed().data(), DisposedError, 'data', 'disposed');
    await expectRejection(() => disposed().array(), DisposedError, 'data', 'disposed');
    if (disposed().backend.capabilities.readSync) expectError(() => disposed().dataSync(), DisposedError, 'dataSync', 'disposed');
    expectError(() => noGrad(() => disposed().fill_(1)), DisposedError, 'copy_', 'disposed');
    const t = ones([2]);
    t.dispose();
    t.dispose(); // idempotent
    expect(t.isDisposed).toBe(true);
  });

  it('storage lives while any view holds it; once the last handle goes every handle throws', async () => {
    const base = ones([4]);
    const v = base.narrow(0, 1, 2);
    base.dispose();
    // By design the check is on the storage (autograd may still hold a disposed handle's storage for backward).
    expect(Array.from(await v.data())).toEqual([1, 1]);
    v.dispose();
    expectError(() => base.neg(), DisposedError, 'neg', 'disposed');
    await expectRejection(() => v.data(), DisposedError, 'data', 'disposed');
  });
});

describe.each(BACKENDS)('autograd misuse (%s)', (name) => {
  useBackend(name);

  it('backward twice, non-scalar backward, no grad, in-place on a leaf', () => {
    const x = ones([2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    expectError(() => y.backward(), AutogradError, 'sum', 'second time', 'retainGraph');
    expectError(() => x.exp().backward(), AutogradError, 'backward', 'scalar', '[2]');
    expectError(() => ones([2]).sum().backward(), AutogradError, 'backward', 'does not require grad');
    expectError(() => ones([2], { requiresGrad: true }).add_(1), AutogradError, 'add_', 'requires grad', 'noGrad');
    const a = ones([3], { requiresGrad: true });
    const c = a.mul(1);
    const z = c.mul(c).sum();
    noGrad(() => c.add_(1));
    expectError(() => z.backward(), AutogradError, 'mul', 'modified in place');
  });
});

describe.each(BACKENDS)('bad argument values (%s)', (name) => {
  useBackend(name);

  it('ranges, sizes and counts', () => {
    expectError(() => arange(0, 5, 0), ArgumentError, 'arange', 'step', 'got 0');
    expectError(() => arange(0, 5, Infinity), ArgumentError, 'arange', 'step');
    expectError(() => zeros([2, -1]), ShapeError, 'full', '[2, -1]', 'non-negative');
    expectError(() => ones([1.5]), ShapeError, 'full', '[1.5]');
    expectError(() => rand([-1]), ShapeError, 'rand', '[-1]');
    expectError(() => full([2, -3], 1), ShapeError, 'full', '[2, -3]');
    expectError(() => eye(-1), ShapeError, 'eye', '-1');
    expectError(() => linspace(0, 1, -1), ArgumentError, 'linspace', 'steps', '-1');
    expectError(() => randint(3, 3, [2]), ArgumentError, 'randint', '3 and 3');
    expectError(() => randint(0, 2.5, [2]), ArgumentError, 'randint', '2.5');
    expectError(() => randperm(-1), ArgumentError, 'randperm', '-1');
    expectError(() => manualSeed(1.5), ArgumentError, 'manualSeed', '1.5');
  });

  it('topk, oneHot, slicing, splitting, padding', () => {
    expectError(() => ones([3]).topk(4), ArgumentError, 'topk', 'k = 4', 'size 3');
    expectError(() => ones([3]).topk(-1), ArgumentError, 'topk', 'k = -1');
    expectError(() => ones([2, 3]).topk(3, 0), ArgumentError, 'topk', 'k = 3', 'size 2');
    expectError(() => oneHot(tensor([0], { dtype: 'int32' }), 0), ArgumentError, 'oneHot', 'numClasses', 'got 0');
    expectError(() => oneHot(tensor([0], { dtype: 'int32' }), 2.5), ArgumentError, 'oneHot', '2.5');
    expectError(() => ones([3]).narrow(0, 2, 2), ArgumentError, 'narrow', 'start 2', 'length 2', 'size 3');
    expectError(() => ones([3]).select(0, 3), ArgumentError, 'select', 'index 3', 'size 3');
    expectError(() => ones([3]).slice(0, 0, 3, 0), ArgumentError, 'slice', 'step', 'got 0');
    expectError(() => ones([3]).index('1:x'), ArgumentError, 'index', "'1:x'");
    expectError(() => ones([3]).index(0, 0), ArgumentError, 'index', '2 indices', '1 dims');
    expectError(() => chunk(ones([3]), 0), ArgumentError, 'chunk', 'got 0');
    expectError(() => ones([3]).split(0), ArgumentError, 'split', 'got 0');
    expectError(() => pad(ones([3]), [1]), ArgumentError, 'pad', '[1]', '[3]');
    expectError(() => pad(ones([3]), [3, 0], 'reflect'), ArgumentError, 'pad', 'reflect', 'size 3');
    expectError(() => ones([2, 3]).repeat(2), ArgumentError, 'repeat', '2 repeat counts', '[2, 3]');
    expectError(() => ones([4]).asStrided([3], [2]), ArgumentError, 'asStrided', '[3]', '[2]', '4 elements');
    expectError(() => ones([2]).gather(0, tensor([5], { dtype: 'int32' })), ArgumentError, 'gather', 'index 5', 'size 2');
    expectError(() => ones([3]).clamp(), ArgumentError, 'clamp', 'min and max');
    expectError(() => einsum('ij,jk->ik', ones([2, 3])), ArgumentError, 'einsum', '2 operands', '1 were given');
    expectError(() => einsum('ij->k', ones([2, 3])), ArgumentError, 'einsum', "'k'");
  });
});
