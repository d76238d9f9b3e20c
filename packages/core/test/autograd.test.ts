/**
 * Autograd semantics: graph traversal, backward/grad options, grad mode, leaves and accumulation, higher-order
 * gradients. Hooks, custom functions and the error cases live in autograd-hooks.test.ts and autograd-errors.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  enableGrad,
  grad,
  isGradEnabled,
  noGrad,
  setBackend,
  setGradEnabled,
  tensor,
  valueAndGrad,
  vjp,
  type Tensor,
} from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';

const f64 = (data: number[] | number, requiresGrad = true) => tensor(data, { dtype: 'float64', requiresGrad });
const values = async (t: Tensor | null | undefined) => Array.from(await t!.data());

// Written in float64; float32-only backends (webgpu) are checked against these results by compareGradients.
describe.each(BACKENDS.filter(hasFloat64))('autograd on %s', (backend) => {
  beforeEach(() => setBackend(backend));

  describe('graph traversal', () => {
    it('runs a diamond-shaped graph 1,000 deep once per node (no exponential blow-up, no stack overflow)', async () => {
      // y ← 0.25·y + 0.75·y, 1,000 times: two paths per level, 2^1000 paths in all; dy/dx = 1.
      const x = f64(1.5);
      let y = x;
      for (let i = 0; i < 1000; i++) y = y.mul(0.25).add(y.mul(0.75));
      y.backward();
      expectClose(await values(x.grad), [1], { atol: 1e-12 });
    });

    it('handles a 20,000-op chain without recursion limits', async () => {
      const x = f64([1, 2]);
      let y = x;
      for (let i = 0; i < 20_000; i++) y = y.add(1);
      const [g] = grad(y.sum(), x);
      expect(await values(g)).toEqual([1, 1]);
    });

    it('sums the gradients of a tensor used several times', async () => {
      const x = f64([2, 3]);
      const y = x.mul(x).add(x.sin()).add(x);
      y.sum().backward();
      expectClose(await values(x.grad), [2 * 2 + Math.cos(2) + 1, 2 * 3 + Math.cos(3) + 1]);
    });
  });

  describe('backward and .grad', () => {
    it('accumulates into a leaf over two backward calls', async () => {
      const x = f64([1, -2]);
      x.mul(3).sum().backward();
      x.square().sum().backward();
      expect(await values(x.grad)).toEqual([3 + 2, 3 - 4]);
    });

    it('with retainGraph, the same graph can be differentiated twice', async () => {
      const x = f64([1, 2]);
      const y = x.exp().sum();
      y.backward(null, { retainGraph: true });
      y.backward();
      expectClose(await values(x.grad), [2 * Math.E, 2 * Math.exp(2)]);
    });

    it('backward of a non-scalar output with an explicit gradient', async () => {
      const x = f64([1, 2, 3]);
      x.mul(x).backward(f64([1, 0, -1], false));
      expect(await values(x.grad)).toEqual([2, 0, -6]);
    });

    it('non-leaf tensors keep no .grad unless retainGrad() was called', async () => {
      const x = f64([1, 2]);
      const h = x.mul(2);
      const kept = x.mul(3).retainGrad();
      h.add(kept).sum().backward();
      expect(h.grad).toBeNull();
      expect(await values(kept.grad)).toEqual([1, 1]);
      expect(h.isLeaf).toBe(false);
      expect(x.isLeaf).toBe(true);
    });

    it('createGraph makes .grad differentiable', async () => {
      const x = f64([0.5, 2]);
      x.pow(3).sum().backward(null, { createGraph: true });
      const g = x.grad!;
      expect(g.requiresGrad).toBe(true);
      const [gg] = grad(g.sum(), x);
      expectClose(await values(gg), [6 * 0.5, 6 * 2]);
    });

    it('a leaf that requires grad can itself be the output', async () => {
      const x = f64(4);
      x.backward();
      expect(await values(x.grad)).toEqual([1]);
    });
  });

  describe('functional grad, valueAndGrad, vjp', () => {
    it('grad with gradOutputs leaves .grad untouched', async () => {
      const x = f64([1, 2]);
      const w = f64([3, 4]);
      const y = x.mul(w);
      const [gx, gw] = grad(y, [x, w], { gradOutputs: f64([1, 10], false) });
      expect(await values(gx)).toEqual([3, 40]);
      expect(await values(gw)).toEqual([1, 20]);
      expect(x.grad).toBeNull();
      expect(w.grad).toBeNull();
    });

    it('grad over several outputs sums their contributions', async () => {
      const x = f64([1, 2]);
      const [g] = grad([x.square().sum(), x.mul(5)], x, { gradOutputs: [null, f64([1, 1], false)] });
      expect(await values(g)).toEqual([2 + 5, 4 + 5]);
    });

    it('allowUnused returns null for an input the outputs do not use; without it, grad throws', () => {
      const x = f64([1]);
      const unused = f64([2]);
      const y = x.mul(2).sum();
      expect(grad(y, [x, unused], { allowUnused: true, retainGraph: true })[1]).toBeNull();
      expect(() => grad(y, [x, unused])).toThrow(/input 1 .* was not used.*allowUnused/);
    });

    it('grad of an intermediate (non-leaf) tensor', async () => {
      const x = f64([1, 2]);
      const h = x.mul(3);
      const y = h.square().sum();
      const [gh] = grad(y, h);
      expect(await values(gh)).toEqual([6, 12]);
    });

    it('valueAndGrad returns the value and a gradient for every argument', async () => {
      const f = valueAndGrad((a: Tensor, b: Tensor) => a.mul(b).sum().add(a.square().sum()));
      const a = f64([1, 2], false);
      const b = f64([3, 4], false);
      const { value, grads } = f(a, b);
      expect(await values(value)).toEqual([1 * 3 + 2 * 4 + 1 + 4]);
      expect(value.requiresGrad).toBe(false);
      expect(await values(grads[0])).toEqual([3 + 2, 4 + 4]);
      expect(await values(grads[1])).toEqual([1, 2]);
      expect(a.requiresGrad).toBe(false);
    });

    it('valueAndGrad gives zeros for an unused argument', async () => {
      const { grads } = valueAndGrad((a: Tensor, _b: Tensor) => a.sum())(f64([1, 2]), f64([5], false));
      expect(await values(grads[1])).toEqual([0]);
    });

    it('vjp returns the output and vᵀJ', async () => {
      const { output, grads } = vjp((x: Tensor) => x.square(), [f64([1, 2, 3], false)], f64([1, 1, 0.5], false));
      expect(await values(output)).toEqual([1, 4, 9]);
      expect(await values(grads[0])).toEqual([2, 4, 3]);
    });
  });

  describe('grad mode and detaching', () => {
    it('noGrad records nothing, enableGrad records inside it, and both restore the mode', () => {
      const x = f64([1]);
      const y = noGrad(() => x.mul(2));
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      const z = noGrad(() => {
        expect(isGradEnabled()).toBe(false);
        return enableGrad(() => x.mul(2));
      });
      expect(z.requiresGrad).toBe(true);
      expect(isGradEnabled()).toBe(true);
      expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
      expect(isGradEnabled()).toBe(true);
    });

    it('setGradEnabled switches the mode globally and returns the previous one', () => {
      const x = f64([1]);
      expect(setGradEnabled(false)).toBe(true);
      try {
        expect(x.exp().requiresGrad).toBe(false);
      } finally {
        setGradEnabled(true);
      }
      expect(x.exp().requiresGrad).toBe(true);
    });

    it('detach shares storage but stops the gradient', async () => {
      const x = f64([1, 2]);
      const d = x.detach();
      expect(d.requiresGrad).toBe(false);
      expect(d.storage).toBe(x.storage);
      const y = x.mul(d).sum();
      y.backward();
      expect(await values(x.grad)).toEqual([1, 2]);
    });

    it('requiresGrad_ turns tracking on for float leaves only', () => {
      const x = tensor([1, 2], { dtype: 'float64' });
      expect(x.requiresGrad_().requiresGrad).toBe(true);
      expect(x.requiresGrad_(false).requiresGrad).toBe(false);
      expect(() => tensor([1, 2], { dtype: 'int32' }).requiresGrad_()).toThrow(/only floating-point/);
      const y = f64([1]).mul(2);
      expect(() => y.requiresGrad_(false)).toThrow(/non-leaf.*detach/);
    });

    it('ops on tensors that do not require grad record nothing', () => {
      const x = f64([1, 2], false);
      const y = x.exp().sum();
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
    });

    it('gradients keep the dtype of their input under type promotion', async () => {
      const a = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
      const b = f64([3, 4]);
      const y = a.mul(b).sum();
      expect(y.dtype).toBe('float64');
      const [ga, gb] = grad(y, [a, b]);
      expect(ga!.dtype).toBe('float32');
      expect(gb!.dtype).toBe('float64');
      expect(await values(ga)).toEqual([3, 4]);
    });
  });

  describe('higher-order gradients', () => {
    it('d³/dx³ of x⁴ is 24x', async () => {
      const x = f64([0.5, -1, 2]);
      const [d1] = grad(x.pow(4).sum(), x, { createGraph: true });
      const [d2] = grad(d1!.sum(), x, { createGraph: true });
      const [d3] = grad(d2!.sum(), x);
      expectClose(await values(d1), [4 * 0.125, -4, 32]);
      expectClose(await values(d2), [12 * 0.25, 12, 48]);
      expectClose(await values(d3), [12, -24, 48]);
    });

    it('mixed second derivatives: ∂²(x·y²)/∂x∂y = 2y', async () => {
      const x = f64([3]);
      const y = f64([5]);
      const [gx] = grad(x.mul(y.square()).sum(), x, { createGraph: true });
      const [gxy] = grad(gx!.sum(), y);
      expect(await values(gxy)).toEqual([10]);
    });

    it('fourth derivative of sin through a chain of createGraph calls', async () => {
      const x = f64([0.3, 1.1]);
      let g: Tensor = x.sin();
      for (let k = 0; k < 4; k++) g = grad(g.sum(), x, { createGraph: true })[0]!;
      expectClose(await values(g), [Math.sin(0.3), Math.sin(1.1)], { atol: 1e-12 });
    });
  });
});
