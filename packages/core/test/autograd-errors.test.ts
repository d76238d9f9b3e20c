/** Misuse of autograd fails with a typed, descriptive error instead of a wrong gradient. */
import { beforeEach, describe, expect, it } from 'vitest';
import { AutogradError, DTypeError, grad, noGrad, setBackend, tensor, type Tensor } from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';

const f64 = (data: number[] | number[][] | number, requiresGrad = true) => tensor(data, { dtype: 'float64', requiresGrad });

/** Runs fn and returns what it threw. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to throw');
}

// Written in float64; float32-only backends (webgpu) are checked against these results by compareGradients.
describe.each(BACKENDS.filter(hasFloat64))('autograd errors on %s', (backend) => {
  beforeEach(() => setBackend(backend));

  it('a second backward through a freed graph', () => {
    const x = f64([1, 2]);
    const y = x.exp().sum();
    y.backward();
    const e = thrown(() => y.backward());
    expect(e).toBeInstanceOf(AutogradError);
    expect(e.message).toMatch(/backward through the graph a second time/);
    expect(e.message).toMatch(/retainGraph: true/);
  });

  it('functional grad frees the graph too unless retainGraph is set', () => {
    const x = f64([1]);
    const y = x.square().sum();
    grad(y, x);
    expect(() => grad(y, x)).toThrow(AutogradError);
  });

  it('backward of a non-scalar output without a gradient', () => {
    const x = f64([1, 2, 3]);
    const e = thrown(() => x.mul(2).backward());
    expect(e).toBeInstanceOf(AutogradError);
    expect(e.message).toMatch(/only for scalar outputs.*shape \[3\]/);
  });

  it('backward or grad of a tensor that does not require grad', () => {
    const x = f64([1, 2], false);
    expect(() => x.sum().backward()).toThrow(AutogradError);
    expect(() => x.sum().backward()).toThrow(/does not require grad/);
    const w = f64([1, 2]);
    expect(() => grad(x.sum(), w)).toThrow(/output 0 .* does not require grad/);
    expect(() => grad(w.sum(), x)).toThrow(/input 0 .* does not require grad/);
    const z = noGrad(() => w.mul(2));
    expect(() => z.sum().backward()).toThrow(/inside noGrad/);
  });

  it('gradOutputs of the wrong shape or count', () => {
    const x = f64([1, 2, 3]);
    const y = x.mul(2);
    const e = thrown(() => grad(y, x, { gradOutputs: f64([1, 1], false) }));
    expect(e).toBeInstanceOf(AutogradError);
    expect(e.message).toMatch(/shape \[2\].*shape \[3\]/);
    expect(() => y.backward(f64([[1, 1, 1]], false))).toThrow(/gradient has shape \[1, 3\] but the tensor has shape \[3\]/);
    expect(() => grad(y, x, { gradOutputs: [f64([1, 1, 1], false), f64([1, 1, 1], false)] })).toThrow(/2 gradOutputs for 1 outputs/);
  });

  it('in-place modification of a tensor saved for backward', () => {
    const x = f64([1, 2]);
    const h = x.mul(1); // a non-leaf, so in-place writes are allowed under noGrad
    const y = h.square().sum(); // square saves h
    noGrad(() => h.mul_(3));
    const e = thrown(() => y.backward());
    expect(e).toBeInstanceOf(AutogradError);
    expect(e.message).toMatch(/modified in place after the op ran/);
  });

  it('in-place modification through a view of a saved tensor is caught too', () => {
    const x = f64([1, 2, 3]);
    const base = noGrad(() => x.mul(1));
    const w = f64([1, 1, 1]);
    const y = base.mul(w).sum(); // mul saves base for w's gradient
    noGrad(() => base.narrow(0, 0, 1).fill_(5));
    expect(() => y.backward()).toThrow(/modified in place/);
  });

  it('an in-place op on a leaf that requires grad', () => {
    const x = f64([1, 2]);
    const e = thrown(() => x.add_(1));
    expect(e).toBeInstanceOf(AutogradError);
    expect(e.message).toMatch(/add_: a tensor that requires grad \(shape \[2\]\) cannot be modified in place/);
    expect(() => x.zero_()).toThrow(AutogradError);
    // Allowed under noGrad (what optimizers do).
    noGrad(() => x.sub_(1));
    expect(Array.from(x.dataSync())).toEqual([0, 1]);
  });

  it('requiring grad on a non-float tensor', () => {
    expect(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true })).toThrow(DTypeError);
    expect(() => tensor([true], { requiresGrad: true })).toThrow(/only floating-point/);
  });

  it('a gradient through an op whose input was disposed is still computed from retained storage', async () => {
    // Disposing a handle must not break a graph that saved it: nodes hold their own reference.
    const x = f64([1, 2]);
    const h: Tensor = x.mul(3);
    const y = h.square().sum();
    h.dispose();
    y.backward();
    expect(Array.from(await x.grad!.data())).toEqual([18, 36]);
  });
});
