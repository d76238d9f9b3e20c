/**
 * Shared helpers for the attention suites: PyTorch fixtures (test/fixtures/attention, made by
 * scripts/make_attention_fixtures.py), seeded random tensors, and a finite-difference check of module parameter
 * gradients (core's gradcheck covers the inputs; parameters live inside the module, so they are perturbed in place).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Generator, getBackend, grad, noGrad, randn, tensor, type DType, type Tensor } from '@tessera/core';
import type { Module } from '@tessera/nn';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/attention/', import.meta.url));

/** A tensor in a fixture: shape, dtype and flat row-major data (−∞ stored as '-Infinity'). */
export interface FT {
  shape: number[];
  dtype: 'float64' | 'bool';
  data: (number | boolean | string)[];
}

export function fixture<T>(name: string): T {
  return (JSON.parse(readFileSync(FIXTURE_DIR + name, 'utf8')) as { cases: T }).cases;
}

const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
export const numbers = (f: FT): number[] => f.data.map((v) => (typeof v === 'string' ? SPECIAL[v]! : Number(v)));

/** The float dtype tests use on the current backend: float64 where it has it, float32 otherwise. */
export const testFloat = (): DType => (getBackend().capabilities.dtypes.includes('float64') ? 'float64' : 'float32');

/** Comparison tolerance for a float dtype. */
export const tolFor = (dtype: DType) => (dtype === 'float64' ? F64_TOL : { atol: 5e-5, rtol: 5e-4 });

/** A tensor from a fixture tensor: bool stays bool; floats become `dtype` (default {@link testFloat}). */
export function fromFT(f: FT, dtype: DType = testFloat()): Tensor {
  if (f.dtype === 'bool') return tensor(f.data as boolean[]).reshape(f.shape);
  return tensor(Float64Array.from(numbers(f)), { dtype }).reshape(f.shape);
}

/** A state dict from fixture tensors. */
export const stateFrom = (s: Record<string, FT>, dtype: DType = testFloat()) =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, fromFT(v, dtype)]));

/** Seeded standard-normal tensors in {@link testFloat} (fixed when the drawer is made). */
export function seeded(seed: number, dtype: DType = testFloat()) {
  const gen = new Generator(seed);
  return (shape: number[], scale = 1): Tensor => randn(shape, { dtype, generator: gen }).mul(scale);
}

export const F64_TOL = { atol: 1e-9, rtol: 1e-8 };

/**
 * Compares every parameter gradient of `module` (from backprop of Σ run()·upstream) with central differences,
 * on up to `samples` entries per parameter. Parameters are perturbed in place under noGrad and restored.
 */
export async function checkParameterGradients(module: Module, run: () => Tensor, opts: { samples?: number; eps?: number; atol?: number; rtol?: number; seed?: number } = {}): Promise<void> {
  const { samples = 6, eps = 1e-6, atol = 1e-6, rtol = 1e-4, seed = 7 } = opts;
  const params = module.namedParameters();
  const out0 = run();
  const upstream = seeded(seed)([...out0.shape]);
  const loss = async () => (await noGrad(() => run().mul(upstream).sum()).data())[0]!;
  const analytic = grad(out0.mul(upstream).sum(), params.map(([, p]) => p), { allowUnused: true });
  for (const [i, [name, p]] of params.entries()) {
    const flat = p.reshape([-1]);
    const n = flat.shape[0]!;
    // Entries spread evenly over the parameter (all of them when it is small).
    const idx = n <= samples ? [...Array(n).keys()] : Array.from({ length: samples }, (_, s) => Math.floor(((s + 0.5) * n) / samples));
    const g = analytic[i] ? await analytic[i]!.reshape([-1]).data() : new Float64Array(n);
    for (const j of idx) {
      const orig = (await flat.narrow(0, j, 1).data())[0]!;
      const set = (v: number) => noGrad(() => flat.narrow(0, j, 1).fill_(v));
      set(orig + eps);
      const plus = await loss();
      set(orig - eps);
      const minus = await loss();
      set(orig);
      const numeric = (plus - minus) / (2 * eps);
      const ok = Math.abs(g[j]! - numeric) <= atol + rtol * Math.abs(numeric);
      expect(ok, `${name}[${j}]: analytic ${g[j]} vs numeric ${numeric}`).toBe(true);
    }
  }
}
