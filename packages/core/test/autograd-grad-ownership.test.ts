/**
 * backward may hand a gradient it computed to a leaf as .grad instead of copying it; these check that a leaf's
 * .grad never shares memory with another leaf's, with a gradient the caller passed in, or with a tensor a hook saw.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { setBackend, tensor, type Tensor } from '../src/index.js';
import { BACKENDS } from '../../../test/support/backends.js';

const leaf = (data: number[]) => tensor(data, { requiresGrad: true });
const values = async (t: Tensor | null | undefined) => Array.from(await t!.data());

describe.each(BACKENDS)('.grad ownership on %s', (backend) => {
  beforeEach(() => setBackend(backend));

  it('gives two leaves that receive the same gradient tensor separate .grad buffers', async () => {
    const [a, b] = [leaf([1, 2]), leaf([3, 4])];
    a.add(b).mul(2).sum().backward();
    a.grad!.add_(1);
    expect(await values(a.grad)).toEqual([3, 3]);
    expect(await values(b.grad)).toEqual([2, 2]);
  });

  it('does not adopt a gradient passed to backward', async () => {
    const [a, b] = [leaf([1, 2]), leaf([3, 4])];
    const g = tensor([5, 6]);
    a.add(b).backward(g);
    g.add_(1);
    expect(await values(a.grad)).toEqual([5, 6]);
    expect(await values(b.grad)).toEqual([5, 6]);
  });

  it('does not adopt a gradient a hook saw', async () => {
    const a = leaf([1, 2]);
    let seen: Tensor | undefined;
    a.registerHook((g) => void (seen = g));
    a.mul(3).sum().backward();
    seen!.add_(1);
    expect(await values(a.grad)).toEqual([3, 3]);
  });

  it('accumulates into an adopted gradient on the next backward', async () => {
    const a = leaf([1, 2]);
    a.mul(3).sum().backward();
    a.mul(a).sum().backward();
    expect(await values(a.grad)).toEqual([5, 7]);
  });
});
