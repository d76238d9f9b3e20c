/** Ops release their own temporaries (scalar operands, casts, broadcast views) without a scope or the GC. */
import { describe, expect, it } from 'vitest';
import { DisposedError, getBackend, oneHot, setBackend, tensor, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';

const live = () => getBackend().memory().buffers;

describe.each(BACKENDS)('temporaries on %s', (name) => {
  it('an op with a scalar operand and a dtype cast leaves only its result', () => {
    setBackend(name);
    const x = tensor([1, 2, 3], { dtype: 'float32' });
    const before = live();
    const y = x.add(1).mul(2.5).gt(2);
    expect(live()).toBeLessThanOrEqual(before + 3); // add, mul, gt results (a backend may pool, never grow more)
    y.dispose();
    x.dispose();
  });

  it('using a disposed tensor is an error even while a view keeps its storage', async () => {
    setBackend(name);
    const x = tensor([1, 2, 3, 4]);
    const v = x.reshape([2, 2]);
    x.dispose();
    expect(() => x.add(1)).toThrow(DisposedError);
    expect(() => x.add(1)).toThrow(/disposed/);
    expect(Array.from(await v.data())).toEqual([1, 2, 3, 4]);
    v.dispose();
  });

  it('backward still reads intermediates disposed after the forward pass', async () => {
    setBackend(name);
    const w = tensor([0.5, -1.5], { requiresGrad: true });
    const parts: Tensor[] = [];
    const h = w.mul(3);
    parts.push(h);
    const loss = h.square().sum();
    for (const p of parts) p.dispose();
    loss.backward();
    expect(Array.from(await w.grad!.data())).toEqual([9, -27]);
  });
});

describe('oneHot', () => {
  it('rejects an out-of-range class instead of returning a zero row', () => {
    setBackend('reference');
    expect(() => oneHot(tensor([0, 3], { dtype: 'int32' }), 3)).toThrow(/out of bounds/);
  });
});
