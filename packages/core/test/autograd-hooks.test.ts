/** Tensor hooks, retainGrad and user-defined differentiable functions (customFunction). */
import { beforeEach, describe, expect, it } from 'vitest';
import { customFunction, grad, setBackend, tensor, type FunctionContext, type Tensor } from '../src/index.js';
import { gradcheck, gradgradcheck } from '../src/testing/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';

const f64 = (data: number[] | number, requiresGrad = true) => tensor(data, { dtype: 'float64', requiresGrad });
const values = async (t: Tensor | null | undefined) => Array.from(await t!.data());

/** x³ with a hand-written backward in differentiable ops, so grad-of-grad works through it. */
const cube = customFunction({
  name: 'cube',
  forward(ctx: FunctionContext, x: Tensor) {
    ctx.saveForBackward(x);
    return x.mul(x).mul(x);
  },
  backward(ctx: FunctionContext, g: Tensor) {
    const [x] = ctx.saved;
    return [g.mul(x!.square()).mul(3)];
  },
});

/** a·b with a constant scale passed through ctx, and one input that gets no gradient. */
const scaledProduct = customFunction({
  name: 'scaledProduct',
  forward(ctx: FunctionContext, a: Tensor, b: Tensor, _ignored: Tensor) {
    ctx.saveForBackward(a, b);
    ctx.scale = 2;
    return a.mul(b).mul(2);
  },
  backward(ctx: FunctionContext, g: Tensor) {
    const [a, b] = ctx.saved;
    const s = ctx.scale as number;
    return [g.mul(b!).mul(s), g.mul(a!).mul(s), null];
  },
});

// Written in float64; float32-only backends (webgpu) are checked against these results by compareGradients.
describe.each(BACKENDS.filter(hasFloat64))('hooks and custom functions on %s', (backend) => {
  beforeEach(() => setBackend(backend));

  describe('hooks', () => {
    it('a leaf hook sees the gradient and may replace it before accumulation', async () => {
      const x = f64([1, 2]);
      const seen: number[][] = [];
      x.registerHook((g) => void seen.push(Array.from(g.dataSync())));
      x.registerHook((g) => g.mul(10));
      x.mul(3).sum().backward();
      expect(seen).toEqual([[3, 3]]);
      expect(await values(x.grad)).toEqual([30, 30]);
    });

    it('a non-leaf hook replaces the gradient flowing on to its inputs', async () => {
      const x = f64([1, 2]);
      const h = x.mul(2);
      h.registerHook((g) => g.neg());
      h.square().sum().backward();
      // d/dx (2x)² = 8x, negated at h.
      expect(await values(x.grad)).toEqual([-8, -16]);
    });

    it('a removed hook no longer runs', async () => {
      const x = f64([1]);
      const handle = x.registerHook((g) => g.mul(100));
      handle.remove();
      x.mul(2).sum().backward();
      expect(await values(x.grad)).toEqual([2]);
    });

    it('hooks run in functional grad too', async () => {
      const x = f64([1, 2]);
      const h = x.mul(2);
      h.registerHook((g) => g.mul(0.5));
      const [g] = grad(h.sum(), x);
      expect(await values(g)).toEqual([1, 1]);
    });

    it('retainGrad keeps a non-leaf gradient, accumulated over calls, after hooks', async () => {
      const x = f64([1, 2]);
      const h = x.mul(2);
      h.registerHook((g) => g.mul(3));
      h.retainGrad();
      const y = h.sum();
      y.backward(null, { retainGraph: true });
      y.backward();
      expect(await values(h.grad)).toEqual([6, 6]);
      expect(await values(x.grad)).toEqual([12, 12]);
    });

    it('registering a hook on a tensor that does not require grad is an error', () => {
      expect(() => f64([1], false).registerHook((g) => g)).toThrow(/doesn't require grad/);
    });
  });

  describe('customFunction', () => {
    it('uses the given backward', async () => {
      const x = f64([1, -2]);
      cube(x).sum().backward();
      expect(await values(x.grad)).toEqual([3, 12]);
    });

    it('supports grad of grad through the custom backward', async () => {
      const x = f64([1.5, -0.5]);
      const [g1] = grad(cube(x).sum(), x, { createGraph: true });
      const [g2] = grad(g1!.sum(), x);
      expect(await values(g2)).toEqual([9, -3]);
      await gradcheck(cube, [x]);
      await gradgradcheck(cube, [x]);
    });

    it('passes context values, handles several inputs and null gradients', async () => {
      const a = f64([1, 2]);
      const b = f64([3, 4]);
      const c = f64([0, 0]);
      const [ga, gb, gc] = grad(scaledProduct(a, b, c).sum(), [a, b, c], { allowUnused: true });
      expect(await values(ga)).toEqual([6, 8]);
      expect(await values(gb)).toEqual([2, 4]);
      expect(gc).toBeNull();
      await gradcheck((a, b) => scaledProduct(a, b, c), [a, b]);
    });

    it('its forward records no graph', () => {
      let inner: Tensor | undefined;
      const spy = customFunction({
        name: 'spy',
        forward(_ctx: FunctionContext, x: Tensor) {
          inner = x.exp();
          return inner.mul(2);
        },
        backward: (_ctx: FunctionContext, g: Tensor) => [g],
      });
      const y = spy(f64([1]));
      expect(inner!.gradFn).toBeNull();
      expect(y.gradFn?.name).toBe('spy');
    });

    it('a forward returning its input unchanged does not turn the input into a non-leaf', async () => {
      const identity = customFunction({ name: 'identity', forward: (_c: FunctionContext, x: Tensor) => x, backward: (_c: FunctionContext, g: Tensor) => [g.mul(2)] });
      const x = f64([1]);
      const y = identity(x);
      expect(x.isLeaf).toBe(true);
      y.sum().backward();
      expect(await values(x.grad)).toEqual([2]);
    });

    it('reports a backward that returns the wrong number or shape of gradients', () => {
      const tooFew = customFunction({ name: 'tooFew', forward: (_c: FunctionContext, a: Tensor, b: Tensor) => a.add(b), backward: (_c: FunctionContext, g: Tensor) => [g] });
      expect(() => tooFew(f64([1]), f64([2])).sum().backward()).toThrow(/tooFew: backward returned 1 gradients for 2 inputs/);
      const badShape = customFunction({ name: 'badShape', forward: (_c: FunctionContext, a: Tensor) => a.sum(), backward: (_c: FunctionContext, g: Tensor) => [g] });
      expect(() => badShape(f64([1, 2])).backward()).toThrow(/badShape: backward gradient 0 has shape \[\], input has \[2\]/);
    });
  });
});
