/**
 * Deterministic release: dispose(), scope() (sync and async), keep(), `using`, views sharing storage, autograd's
 * saved tensors, and the buffer/byte counts memoryStats() reports.
 */
import { describe, expect, it } from 'vitest';
import { arange, keep, memoryStats, noGrad, ones, scope, tensor, zeros, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { useBackend } from '../conformance/helpers.js';

describe.each(BACKENDS)('deterministic release (%s)', (name) => {
  useBackend(name);
  const live = () => memoryStats()[name]!;
  /** Asserts that fn leaves the live buffer count and bytes as it found them. */
  const expectNoLeak = async (fn: () => unknown) => {
    const before = live();
    await fn();
    expect(live()).toEqual(before);
  };

  it('memoryStats counts buffers and bytes per dtype; dispose frees them', () => {
    const before = live();
    const made: [Tensor, number][] = [
      [zeros([10], { dtype: 'float32' }), 40],
      [zeros([3], { dtype: 'int32' }), 12],
      [zeros([5], { dtype: 'bool' }), 5],
      [zeros([0, 4]), 0],
    ];
    expect(live().buffers).toBe(before.buffers + made.length);
    const bytes = made.reduce((sum, [, b]) => sum + b, 0);
    // Other backends may pad or widen storage (e.g. bool as 32-bit); the reference stores exactly.
    if (name === 'reference') expect(live().bytes).toBe(before.bytes + bytes);
    else expect(live().bytes).toBeGreaterThanOrEqual(before.bytes + bytes);
    for (const [t] of made) t.dispose();
    expect(live()).toEqual(before);
  });

  it('a view keeps the storage alive until the last handle goes', async () => {
    const before = live();
    const base = arange(12, undefined, 1, { dtype: 'float32' });
    const v1 = base.reshape(3, 4);
    const t = v1.T; // every intermediate view is a handle of its own
    const v2 = t.narrow(0, 1, 2);
    expect(live().buffers).toBe(before.buffers + 1); // views allocate nothing
    base.dispose();
    v1.dispose();
    t.dispose();
    expect(live().buffers).toBe(before.buffers + 1);
    expect(v2.storage.isFreed).toBe(false);
    expect(Array.from(await v2.data())).toEqual([1, 5, 9, 2, 6, 10]);
    v2.dispose();
    expect(v2.storage.isFreed).toBe(true);
    expect(live()).toEqual(before);
  });

  it('scope frees everything created inside except what it returns', async () => {
    await expectNoLeak(() => {
      const kept = scope(() => {
        const a = ones([4]);
        const b = a.mul(2).add(1); // the scalars 2 and 1 become tensors too
        return b.exp();
      });
      expect(kept.isDisposed).toBe(false);
      expect(kept.storage.isFreed).toBe(false);
      kept.dispose();
    });
    // Returned arrays, objects and Maps of tensors survive too.
    await expectNoLeak(() => {
      const out = scope(() => {
        const x = ones([2]);
        return { pair: [x.add(1), x.add(2)], map: new Map([['s', x.sum()]]), n: 3 };
      });
      expect(out.pair.every((t) => !t.isDisposed) && !out.map.get('s')!.isDisposed).toBe(true);
      [...out.pair, out.map.get('s')!].forEach((t) => t.dispose());
    });
  });

  it('keep() exempts a tensor; nested scopes hand results to the outer scope', async () => {
    let saved: Tensor | undefined;
    await expectNoLeak(() => {
      scope(() => {
        saved = keep(ones([3]).mul(3));
        ones([3]).add(1);
      });
      expect(saved!.isDisposed).toBe(false);
      saved!.dispose();
    });
    let inner: Tensor | undefined;
    await expectNoLeak(() => {
      scope(() => {
        inner = scope(() => ones([2]).neg());
        expect(inner.isDisposed).toBe(false);
      });
      expect(inner!.isDisposed).toBe(true); // the outer scope did not return it
    });
  });

  it('scope releases on throw, sync and async', async () => {
    await expectNoLeak(() => {
      expect(() =>
        scope(() => {
          ones([8]).add(1);
          throw new Error('boom');
        }),
      ).toThrow('boom');
    });
    await expectNoLeak(async () => {
      await expect(
        scope(async () => {
          ones([8]).add(1);
          await Promise.resolve();
          throw new Error('async boom');
        }),
      ).rejects.toThrow('async boom');
    });
  });

  it('async scope: tensors created before and after awaits are released; the result survives', async () => {
    await expectNoLeak(async () => {
      const r = await scope(async () => {
        const a = ones([16]).mul(2);
        const s = await a.sum().item();
        const b = a.add(s);
        await new Promise((resolve) => setTimeout(resolve, 1));
        return b.square();
      });
      expect(Array.from(await r.data())).toEqual(new Array(16).fill(34 * 34));
      r.dispose();
    });
  });

  it('`using` declarations dispose at the end of the block', async () => {
    const before = live();
    let escaped: Tensor;
    {
      using t = ones([32]);
      escaped = t;
      expect(live().buffers).toBe(before.buffers + 1);
    }
    expect(escaped.isDisposed).toBe(true);
    expect(live()).toEqual(before);
    // The same protocol directly.
    const u = ones([2]);
    u[Symbol.dispose]();
    expect(u.isDisposed).toBe(true);
    expect(live()).toEqual(before);
  });

  it('autograd keeps saved tensors alive until backward frees the graph', async () => {
    let x: Tensor | undefined;
    await expectNoLeak(() => {
      scope(() => {
        x = tensor([0.5, 1, 2], { requiresGrad: true });
        const y = x.exp(); // exp saves its output; mul saves its inputs
        const z = y.mul(y).sum();
        y.dispose(); // the user drops the handle; the graph still holds the storage
        expect(y.storage.isFreed).toBe(false);
        z.backward();
        expect(y.storage.isFreed).toBe(true); // freed with the graph, before the scope ends
      });
      // A leaf's gradient belongs to the leaf, not to the scope that ran backward.
      expect(x!.isDisposed).toBe(true);
      expect(x!.grad!.isDisposed).toBe(false);
      x!.grad!.dispose();
    });
  });

  it('retainGraph keeps saved storage until the second backward', () => {
    scope(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const y = x.exp();
      const z = y.sum();
      y.dispose();
      z.backward(null, { retainGraph: true });
      expect(y.storage.isFreed).toBe(false);
      z.backward();
      expect(y.storage.isFreed).toBe(true);
    });
  });

  it('training steps inside scope leave no buffers behind (grads disposed, or zeroed in place)', async () => {
    const w = tensor([[0.1, -0.2], [0.3, 0.4]], { requiresGrad: true });
    const x = tensor([[1, 2], [3, 4]]);
    const step = () =>
      scope(() => {
        x.matmul(w).square().mean().backward();
        noGrad(() => w.sub_(w.grad!.mul(0.01)));
      });
    const before = live();
    for (let i = 0; i < 3; i++) {
      step();
      w.grad!.dispose(); // set-to-none style
      w.grad = null;
    }
    expect(live()).toEqual(before);
    step(); // zero_-style: one persistent gradient buffer, accumulated into in place
    const withGrad = live();
    for (let i = 0; i < 3; i++) {
      // Inside a scope: an op's internal temporaries (here the 0-dim 0 and its broadcast view) are only released
      // deterministically by a scope; outside one they are left to the GC safety net.
      scope(() => noGrad(() => w.grad!.zero_()));
      step();
    }
    expect(live()).toEqual(withGrad);
  });
});
