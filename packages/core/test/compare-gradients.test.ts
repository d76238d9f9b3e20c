/**
 * compareGradients, the check for float32-only backends, exercised on two stand-ins for such a backend: the
 * reference backend without float64, and the same with a slightly wrong cos kernel.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ReferenceBackend, registerBackend, setBackend, tensor, type Backend, type DType, type Tensor, type UnaryOp, type View } from '../src/index.js';
import { compareGradients, GradcheckError, gradcheck } from '../src/testing/index.js';

/** The reference backend under another name and without float64, optionally with one kernel off by 1%. */
function float32Reference(name: string, faulty?: UnaryOp): Backend {
  const inner = new ReferenceBackend();
  const backend = Object.create(inner) as ReferenceBackend;
  Object.defineProperty(backend, 'name', { value: name });
  Object.defineProperty(backend, 'capabilities', { value: { readSync: true, dtypes: ['bool', 'int32', 'float32'] } });
  if (faulty)
    backend.unary = function (op: UnaryOp, x: View, outDtype: DType) {
      const out = inner.unary.call(this, op, x, outDtype);
      if (op === faulty) {
        const data = (out as unknown as { data: Float32Array }).data;
        data.forEach((v, i) => (data[i] = v * 1.01));
      }
      return out;
    };
  return backend;
}

const f32 = (data: number[] | number[][], device: string, requiresGrad = true) => tensor(data, { dtype: 'float32', device, requiresGrad });

describe('compareGradients', () => {
  beforeAll(() => {
    registerBackend(float32Reference('f32-test'), -1);
    registerBackend(float32Reference('f32-faulty', 'cos'), -1);
    setBackend('reference');
  });

  it('accepts a float32 backend that matches the float64 reference, to first and second order', async () => {
    const x = f32([[0.5, -1, 2], [0.1, 0.2, -0.3]], 'f32-test');
    const w = f32([0.3, -0.6, 1.2], 'f32-test');
    const fn = (x: Tensor, w: Tensor) => [x.mul(w).softmax(-1), x.matmul(w).tanh(), x.exp().sum()];
    expect(await compareGradients(fn, [x, w])).toBe(true);
    expect(await compareGradients(fn, [x, w], { order: 2 })).toBe(true);
  });

  it('keeps non-float inputs and constants as they are', async () => {
    const x = f32([1, 2, 3], 'f32-test');
    const idx = tensor([2, 0], { dtype: 'int32', device: 'f32-test' });
    const c = f32([1, 1, 2], 'f32-test', false);
    expect(await compareGradients((x, i, c) => x.mul(c).indexSelect(0, i).exp(), [x, idx, c])).toBe(true);
  });

  it('reports a kernel that differs from the reference, in an output or in a gradient', async () => {
    const x = f32([0.5, -1], 'f32-faulty');
    const err = (await compareGradients((x) => x.cos(), [x]).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(GradcheckError);
    expect(err.message).toMatch(/output 0 \(shape \[2\]\) differs from the 'reference' float64 result at element \[0\]/);
    // sin's output is right; its gradient cos(x) comes from the faulty kernel.
    await expect(compareGradients((x) => x.sin(), [x])).rejects.toThrow(/gradient of input 0 .* differs/);
    expect(await compareGradients((x) => x.sin(), [x], { raiseException: false })).toBe(false);
    // Kernels that are not faulty still agree on this backend, to second order.
    expect(await compareGradients((x) => x.exp().mul(x), [x], { order: 2 })).toBe(true);
  });

  it('points gradcheck users on a float32-only backend to compareGradients', async () => {
    const x = f32([1], 'f32-test');
    await expect(gradcheck((x) => x.exp(), [x])).rejects.toThrow(/lacks.*compareGradients/);
  });
});
