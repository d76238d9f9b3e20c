/**
 * The fused backward kernels (activationBackward for gelu / geluTanh / silu, normBackward for layerNorm / rmsNorm)
 * against closed-form derivatives in JS and against the composed differentiable VJP, which core still takes when a
 * higher-order graph is built (createGraph); gradgradcheck on float64 backends shows that path still works.
 */
import { describe, expect, it } from 'vitest';
import { backendByName, grad, layerNorm, rmsNorm, tensor, type Tensor } from '@tessera/core';
import { gradgradcheck } from '@tessera/core/testing';
import { BACKENDS, hasFloat64 } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { lcg, useBackend } from './helpers.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** erf by its Maclaurin series: cancellation costs ~1e-10 absolute near |x| = 4 (the tests' float64 atol). */
function erf(x: number): number {
  if (Math.abs(x) > 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
    if (Math.abs(term) < 1e-18) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const DERIVATIVES: Record<'gelu' | 'geluTanh' | 'silu', (x: number) => number> = {
  gelu: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  geluTanh: (x) => {
    const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
  },
  silu: (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))),
};
const apply = (kind: keyof typeof DERIVATIVES, x: Tensor) => (kind === 'silu' ? x.silu() : x.gelu(kind === 'gelu' ? 'none' : 'tanh'));

/** Each backend in float32 (the SIMD / WGSL kernels), and in float64 too where it has it. */
const CASES = BACKENDS.flatMap((name) => [...(hasFloat64(name) ? [[name, 'float64'] as const] : []), [name, 'float32'] as const]);

describe.each(CASES)('fused backward kernels (%s, %s)', (name, F) => {
  useBackend(name);
  const fround = F === 'float32' ? Math.fround : (x: number) => x;
  const tol = F === 'float32' ? { atol: 2e-5, rtol: 1e-4 } : { atol: 1e-12, rtol: 1e-10 };
  const rand = (seed: number, n: number, scale: number) => lcg(seed, n, -scale, scale).map(fround);

  /** First-order gradients (fused where the backend has the kernel) and the same through createGraph (composed). */
  function bothWays(f: (xs: Tensor[]) => Tensor, xs: Tensor[], g: Tensor): { fused: Tensor[]; composed: Tensor[] } {
    const fused = grad(f(xs), xs, { gradOutputs: g }).map((t) => t!);
    const composed = grad(f(xs), xs, { gradOutputs: g, createGraph: true }).map((t) => t!.detach());
    return { fused, composed };
  }

  for (const kind of ['gelu', 'geluTanh', 'silu'] as const) {
    it(`${kind}: dx = g·act'(x), contiguous and strided, equal to the composed VJP`, async () => {
      // 3 × 37 covers the 4-lane body and the scalar tail; the transpose is a strided input and gradient.
      const xv = rand(11, 3 * 37, 6);
      const gv = rand(12, 3 * 37, 2);
      for (const strided of [false, true]) {
        const base = tensor(xv, { dtype: F }).reshape(strided ? [37, 3] : [3, 37]);
        const x = (strided ? base.mT : base).detach().requiresGrad_();
        const gBase = tensor(gv, { dtype: F }).reshape(strided ? [37, 3] : [3, 37]);
        const g = strided ? gBase.mT : gBase;
        const { fused, composed } = bothWays(([t]) => apply(kind, t!), [x], g);
        const xs = Array.from(await x.data());
        const gs = Array.from(await g.data());
        const expected = xs.map((v, i) => gs[i]! * DERIVATIVES[kind](v));
        // float32: the input is rounded, the derivative is evaluated in float64 here.
        expectClose(await fused[0]!.data(), expected, { atol: Math.max(tol.atol, 1e-9), rtol: tol.rtol }, `${kind} fused dx`);
        expectClose(await fused[0]!.data(), await composed[0]!.data(), tol, `${kind} fused vs composed`);
      }
    });
  }

  it('activations keep tails and extremes finite: dx at ±30 and 0', async () => {
    const x = tensor([-30, -5, 0, 5, 30], { dtype: F, requiresGrad: true });
    for (const kind of ['gelu', 'geluTanh', 'silu'] as const) {
      const [dx] = grad(apply(kind, x).sum(), [x]);
      expectClose(await dx!.data(), [-30, -5, 0, 5, 30].map(DERIVATIVES[kind]), { atol: 1e-6, rtol: 1e-5 }, `${kind} extremes`);
    }
  });

  for (const center of [true, false]) {
    const op = center ? 'layerNorm' : 'rmsNorm';
    for (const [params, label] of [[0, 'no parameters'], [1, 'weight'], [2, 'weight and bias']] as const) {
      if (!center && params === 2) continue;
      it(`${op} backward (${label}), contiguous and strided`, async () => {
        const [R, N] = [6, 37];
        for (const strided of [false, true]) {
          const xBase = tensor(rand(21, R * N, 3), { dtype: F }).reshape(strided ? [N, R] : [R, N]);
          const x = (strided ? xBase.mT : xBase).reshape([2, 3, N]).detach().requiresGrad_();
          const w = params >= 1 ? tensor(rand(22, N, 2), { dtype: F, requiresGrad: true }) : null;
          const b = params >= 2 ? tensor(rand(23, N, 1), { dtype: F, requiresGrad: true }) : null;
          const gBase = tensor(rand(24, R * N, 1), { dtype: F }).reshape(strided ? [N, R] : [R, N]);
          const g = (strided ? gBase.mT : gBase).reshape([2, 3, N]);
          const leaves = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
          const f = ([t, wt, bt]: Tensor[]) => (center ? layerNorm(t!, [N], wt ?? null, bt ?? null, 1e-5) : rmsNorm(t!, [N], wt ?? null, 1e-6));
          const { fused, composed } = bothWays(f, leaves, g);
          for (let i = 0; i < leaves.length; i++) {
            expect(fused[i]!.shape).toEqual(leaves[i]!.shape);
            expectClose(await fused[i]!.data(), await composed[i]!.data(), { atol: tol.atol * 10, rtol: tol.rtol * 10 }, `${op} grad ${i}`);
          }
        }
      });
    }
  }

  it('layerNorm with only a bias, and a weight that needs no gradient', async () => {
    const N = 9;
    const x = tensor(rand(31, 4 * N, 2), { dtype: F }).reshape([4, N]).requiresGrad_();
    const b = tensor(rand(32, N, 1), { dtype: F, requiresGrad: true });
    const w = tensor(rand(33, N, 1), { dtype: F });
    const g = tensor(rand(34, 4 * N, 1), { dtype: F }).reshape([4, N]);
    const { fused, composed } = bothWays(([t, bt]) => layerNorm(t!, [N], w, bt!), [x, b], g);
    for (let i = 0; i < 2; i++) expectClose(await fused[i]!.data(), await composed[i]!.data(), { atol: tol.atol * 10, rtol: tol.rtol * 10 }, `grad ${i}`);
  });

  it.runIf(F === 'float32' && backendByName(name).capabilities.dtypes.includes('float16'))('float16 inputs take the composed path', async () => {
    const xv = rand(51, 2 * 8, 3);
    const gv = rand(52, 2 * 8, 1);
    const grads = (dtype: 'float16' | 'float32') => {
      const x = tensor(xv, { dtype }).reshape([2, 8]).requiresGrad_();
      const w = tensor(rand(53, 8, 1), { dtype, requiresGrad: true });
      const g = tensor(gv, { dtype }).reshape([2, 8]);
      return [...grad(apply('geluTanh', x), [x], { gradOutputs: g }), ...grad(layerNorm(x, [8], w), [x, w], { gradOutputs: g })];
    };
    const [half, full] = [grads('float16'), grads('float32')];
    for (let i = 0; i < full.length; i++) {
      expect(half[i]!.dtype).toBe('float16');
      expectClose(await half[i]!.data(), await full[i]!.data(), { atol: 2e-2, rtol: 2e-2 }, `float16 grad ${i}`);
    }
  });

  it.runIf(F === 'float64')('gradgradcheck still passes through the composed VJPs', async () => {
    const x = tensor(rand(41, 12, 2), { dtype: 'float64' }).reshape([3, 4]).requiresGrad_();
    const w = tensor(rand(42, 4, 1), { dtype: 'float64', requiresGrad: true });
    const b = tensor(rand(43, 4, 1), { dtype: 'float64', requiresGrad: true });
    for (const kind of ['gelu', 'geluTanh', 'silu'] as const) expect(await gradgradcheck((t) => apply(kind, t), [x])).toBe(true);
    expect(await gradgradcheck((t, wt, bt) => layerNorm(t, [4], wt, bt), [x, w, b])).toBe(true);
    expect(await gradgradcheck((t, wt) => rmsNorm(t, [4], wt, 1e-6), [x, w])).toBe(true);
  });
});
