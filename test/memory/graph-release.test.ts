/**
 * A recorded graph is released as soon as nothing can reach it: disposing (or scope-exiting) the tensors of a forward
 * pass that was never differentiated frees its saved values at once, not when the GC runs. (Temporaries of a backward
 * pass are ordinary tensors: the scope around it frees them.)
 */
import { describe, expect, it } from 'vitest';
import { memoryStats, randn, scope, setBackend, tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';

describe.each(BACKENDS)('graph release on %s', (backend) => {
  const live = () => memoryStats()[backend]!.buffers;

  it('frees a forward pass that is never differentiated when its scope ends', () => {
    setBackend(backend);
    const w = randn([4, 3], { requiresGrad: true });
    const x = randn([5, 4]);
    const before = live();
    for (let i = 0; i < 3; i++)
      scope(() => {
        x.matmul(w).tanh().logSoftmax(-1).square().mean();
      });
    expect(live()).toBe(before);
  });

  it('keeps what a returned tensor needs for backward, and frees it after', () => {
    setBackend(backend);
    const w = randn([4, 3], { requiresGrad: true });
    const x = randn([5, 4]);
    const before = live();
    scope(() => {
      const loss = scope(() => x.matmul(w).sigmoid().sum()); // intermediates' handles are disposed here
      loss.backward();
    });
    expect(w.grad!.shape).toEqual([4, 3]);
    w.grad!.dispose();
    w.grad = null;
    expect(live()).toBe(before);
  });

  it('frees a retained graph once its output is disposed', () => {
    setBackend(backend);
    const w = randn([3], { requiresGrad: true });
    const before = live();
    scope(() => {
      const y = w.exp().mul(w).sum();
      y.backward(null, { retainGraph: true });
      y.backward(null, { retainGraph: true }); // still usable; the scope then disposes y and its graph
    });
    w.grad!.dispose();
    w.grad = null;
    expect(live()).toBe(before);
  });

  it('releases a long chain without deep recursion', () => {
    setBackend(backend);
    const w = tensor([1], { requiresGrad: true });
    const before = live();
    scope(() => {
      let h = w;
      for (let i = 0; i < 20_000; i++) h = h.mul(1.0001);
    });
    expect(live()).toBe(before);
  });
});
