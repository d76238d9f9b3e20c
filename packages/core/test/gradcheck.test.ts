/** The gradient-checking tools of @tessera/core/testing: they accept right gradients and report wrong ones precisely. */
import { beforeEach, describe, expect, it } from 'vitest';
import { ArgumentError, customFunction, DTypeError, setBackend, tensor, type FunctionContext, type Tensor } from '../src/index.js';
import { GradcheckError, gradcheck, gradgradcheck } from '../src/testing/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';

const f64 = (data: number[] | number[][], requiresGrad = true) => tensor(data, { dtype: 'float64', requiresGrad });

/** a·b whose backward for b is off by one at b[1, 0] only. */
const faultyMul = customFunction({
  name: 'faultyMul',
  forward(ctx: FunctionContext, a: Tensor, b: Tensor) {
    ctx.saveForBackward(a, b);
    return a.mul(b);
  },
  backward(ctx: FunctionContext, g: Tensor) {
    const [a, b] = ctx.saved;
    const bump = tensor([[0, 0], [1, 0]], { dtype: 'float64' });
    return [g.mul(b!), g.mul(a!).add(g.mul(bump))];
  },
});

/** x³ whose backward is right to first order but detaches x, so its second derivative is wrong. */
const detachedCube = customFunction({
  name: 'detachedCube',
  forward(ctx: FunctionContext, x: Tensor) {
    ctx.saveForBackward(x);
    return x.pow(3);
  },
  backward(ctx: FunctionContext, g: Tensor) {
    return [g.mul(ctx.saved[0]!.detach().square()).mul(3)];
  },
});

// Written in float64; float32-only backends (webgpu) are checked against these results by compareGradients.
describe.each(BACKENDS.filter(hasFloat64))('gradcheck and gradgradcheck on %s', (backend) => {
  beforeEach(() => setBackend(backend));

  it('accepts correct gradients, for several inputs and outputs', async () => {
    const a = f64([[0.5, -1], [2, 0.3]]);
    const b = f64([1.5, -0.7]);
    expect(await gradcheck((a, b) => [a.mul(b).tanh(), a.matmul(b).exp()], [a, b])).toBe(true);
    expect(await gradgradcheck((a, b) => [a.mul(b).tanh(), a.matmul(b).exp()], [a, b])).toBe(true);
  });

  it('names the input, the element and both values of a wrong Jacobian entry', async () => {
    const a = f64([[1, 2], [3, 4]]);
    const b = f64([[0.5, -1], [2, 0.25]]);
    const err = await gradcheck(faultyMul, [a, b]).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(GradcheckError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/with respect to input 1 \(shape \[2, 2\]/);
    expect(msg).toMatch(/input element \[1, 0\], output element \[1, 0\]: analytic 4, numeric 2\.99999/);
    expect(msg).toMatch(/1 of 16 Jacobian entries for input 1 differ/);
  });

  it('resolves to false instead of throwing with raiseException: false', async () => {
    expect(await gradcheck(faultyMul, [f64([[1, 2], [3, 4]]), f64([[1, 1], [1, 1]])], { raiseException: false })).toBe(false);
  });

  it('gradgradcheck catches a backward that is right only to first order', async () => {
    const x = f64([0.5, -1.5]);
    expect(await gradcheck(detachedCube, [x])).toBe(true);
    await expect(gradgradcheck(detachedCube, [x])).rejects.toThrow(/gradgradcheck: Jacobian mismatch .* with respect to input 0/);
  });

  it('gradgradcheck accepts explicit gradOutputs, constant ones included', async () => {
    const x = f64([0.5, -1.5]);
    expect(await gradgradcheck((x) => x.pow(3), [x], [f64([1, -2])])).toBe(true);
    expect(await gradgradcheck((x) => x.pow(3), [x], [f64([1, -2], false)])).toBe(true);
    await expect(gradgradcheck((x) => x.pow(3), [x], [f64([1, -2]), f64([1, -2])])).rejects.toThrow(/2 gradOutputs for 1 float outputs/);
    await expect(gradgradcheck((x) => x.pow(3), [x], [f64([1])])).rejects.toThrow(/gradOutputs\[0\] has shape \[1\], output 0 has \[2\]/);
  });

  it('works on strided, flipped, expanded and overlapping inputs', async () => {
    const base = f64([[1, 2, 3], [4, 5, 6]], false);
    const transposed = base.mT.detach().requiresGrad_();
    const flipped = base.flip([0, 1]).detach().requiresGrad_();
    const expanded = f64([[0.5], [1.5]], false).expand([2, 3]).detach().requiresGrad_();
    for (const x of [transposed, flipped, expanded]) {
      expect(await gradcheck((x) => x.mul(x.sin()).sum(0), [x])).toBe(true);
      expect(await gradgradcheck((x) => x.mul(x.sin()).sum(0), [x])).toBe(true);
    }
  });

  it('keeps the layout of inputs, so layout-dependent functions (asStrided) are checked correctly', async () => {
    const x = f64([[1, 2, 3], [4, 5, 6]], false).flip(0).detach().requiresGrad_();
    expect(await gradcheck((x) => x.asStrided([3, 2], [1, 2], 0).mul(2), [x])).toBe(true);
  });

  it('accepts a non-leaf input', async () => {
    const w = f64([[1, 2], [3, 4]]);
    expect(await gradcheck((v) => v.square(), [w.mT])).toBe(true);
  });

  it('treats inputs that do not require grad as constants and ignores integer outputs', async () => {
    const x = f64([0.3, -0.2, 0.9]);
    const scale = f64([2, 3, 4], false);
    const index = tensor([2, 0], { dtype: 'int32' });
    const fn = (x: Tensor, s: Tensor, i: Tensor) => {
      const sorted = x.mul(s).sort();
      return [sorted.values, sorted.indices, x.indexSelect(0, i)];
    };
    expect(await gradcheck(fn, [x, scale, index])).toBe(true);
  });

  it('leaves its inputs untouched', async () => {
    const x = f64([0.3, -0.2]);
    await gradcheck((x) => x.exp(), [x]);
    await gradgradcheck((x) => x.exp(), [x]);
    expect(Array.from(await x.data())).toEqual([0.3, -0.2]);
    expect(x.grad).toBeNull();
    expect(x.isDisposed).toBe(false);
    // A function returning its input must not get the input disposed either.
    await gradcheck((x) => x, [x]);
    expect(x.isDisposed).toBe(false);
  });

  it('rejects float32 inputs that require grad, float32 outputs, and calls with nothing to check', async () => {
    const x32 = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    await expect(gradcheck((x) => x.exp(), [x32])).rejects.toThrow(DTypeError);
    await expect(gradcheck((x) => x.exp(), [x32])).rejects.toThrow(/input 0 \(shape \[2\]\) requires grad but is float32.*float64/);
    await expect(gradcheck((x) => x.to('float32'), [f64([1])])).rejects.toThrow(/output 0 .* is float32/);
    await expect(gradcheck((x) => x.exp(), [f64([1], false)])).rejects.toThrow(ArgumentError);
    await expect(gradcheck(() => 3 as unknown as Tensor, [f64([1])])).rejects.toThrow(/must return a Tensor/);
  });

  it('detects a gradient whose dtype differs from its input', async () => {
    const wrongDtype = customFunction({
      name: 'wrongDtype',
      forward: (_c: FunctionContext, x: Tensor) => x.mul(2),
      backward: (_c: FunctionContext, g: Tensor) => [g.mul(2).to('float32')],
    });
    await expect(gradcheck(wrongDtype, [f64([1, 2])])).rejects.toThrow(/has dtype float32, expected float64/);
  });
});
