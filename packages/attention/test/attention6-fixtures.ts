/**
 * Fixture loading for the MoH / MLA / Titans / linear-attention suites: PyTorch golden values from
 * test/fixtures/attention6 (made by scripts/make_attention6_fixtures.py with /usr/bin/python3).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getBackend, grad, tensor, type DType, type Tensor } from '@tessera/core';
import type { Module } from '@tessera/nn';
import { expectClose } from '../../../test/support/close.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/attention6/', import.meta.url));

/** A tensor in a fixture: shape plus flat row-major float64 data. */
export interface FT {
  shape: number[];
  data: number[];
}

/** One golden case: parameters, input, upstream gradient, output and the gradients of Σ output·gradOutput. */
export interface GoldenCase<C = Record<string, unknown>> {
  name: string;
  config: C;
  params: Record<string, FT>;
  input: FT;
  gradOutput: FT;
  output: FT;
  grads: Record<string, FT>;
}

export function loadCases<T>(file: string): T[] {
  return JSON.parse(readFileSync(DIR + file, 'utf8')) as T[];
}

/** A tensor from a fixture tensor on the current backend (float64 by default). */
export const fromFT = (f: FT, dtype: DType = 'float64'): Tensor =>
  tensor(dtype === 'float64' ? Float64Array.from(f.data) : Float32Array.from(f.data), { dtype }).reshape(f.shape);

/** The parameters of a fixture as a state dict. */
export const stateOf = (c: GoldenCase<unknown>, dtype: DType = 'float64') => Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, fromFT(v, dtype)]));

export const TOL = { atol: 1e-9, rtol: 1e-7 };
/** Looser tolerance for float32 backends (compared with the float64 PyTorch values). */
export const TOL32 = { atol: 2e-4, rtol: 2e-3 };

/** The dtype golden tests use on the current backend: float64 where it exists, float32 otherwise. */
export const goldenDtype = (): DType => (getBackend().capabilities.dtypes.includes('float64') ? 'float64' : 'float32');

/**
 * Runs `forward` on the fixture's input, compares the output, then the gradients of Σ output·gradOutput (+ `extra`)
 * w.r.t. the input and every parameter of `module` present in the fixture.
 */
export async function checkAgainstGolden(module: Module, c: GoldenCase<unknown>, forward: (x: Tensor) => Tensor, extra?: () => Tensor | null): Promise<void> {
  const dtype = module.parameters()[0]!.dtype;
  const tol = dtype === 'float64' ? TOL : TOL32;
  module.loadStateDict(stateOf(c, dtype));
  const x = fromFT(c.input, dtype).requiresGrad_();
  const out = forward(x);
  expectClose(await out.data(), c.output.data, tol, `${c.name} output`);
  const params = module.namedParameters().filter(([n]) => n in c.grads);
  let loss = out.mul(fromFT(c.gradOutput, dtype)).sum();
  const e = extra?.();
  if (e) loss = loss.add(e);
  const gs = grad(loss, [x, ...params.map(([, p]) => p)], { allowUnused: true });
  expectClose(await gs[0]!.data(), c.grads.input!.data, tol, `${c.name} input grad`);
  for (const [i, [name, p]] of params.entries()) {
    const g = gs[i + 1] ?? p.zerosLike();
    expectClose(await g.data(), c.grads[name]!.data, tol, `${c.name} ${name}.grad`);
  }
}
