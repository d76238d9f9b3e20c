/**
 * Shared machinery of the property-based gradient suites. Each op is checked on every backend in BACKENDS:
 * with gradcheck/gradgradcheck in float64 where the backend has float64, otherwise by comparing its float32
 * gradients (and gradients of gradients) with the reference backend's float64 ones.
 */
import fc from 'fast-check';
import { it } from 'vitest';
import { setBackend, type Tensor } from '@tessera/core';
import {
  ALL_LAYOUTS,
  broadcastTensorsArb,
  compareGradients,
  gradcheck,
  gradgradcheck,
  shapeArb,
  tensorArb,
  type GradcheckFn,
  type ShapeOptions,
  type TensorArbOptions,
} from '@tessera/core/testing';
import { hasFloat64 } from '../support/backends.js';

export type FloatDtype = 'float32' | 'float64';

/** Inputs together with the function to check, for ops whose arguments (dims, sizes, …) are drawn too. */
export interface Case {
  inputs: Tensor[];
  fn: GradcheckFn;
  /** Shown in counterexamples, e.g. 'dim=-1, keepdim=true'. */
  label: string;
}

/** A {@link Case} that prints as its label and inputs when fast-check reports it. */
export function makeCase(inputs: Tensor[], label: string, fn: GradcheckFn): Case {
  return { inputs, fn, label, [fc.toStringMethod]: () => `${label} with ${fc.stringify(inputs)}` } as Case;
}

export interface GradSpec {
  /** Inputs in the dtype the backend is checked in (float64, or float32 on float32-only backends), or whole cases. */
  inputs: (dtype: FloatDtype) => fc.Arbitrary<Tensor[] | Case>;
  /** The function under test (cases bring their own). */
  fn?: GradcheckFn;
  /** Also check second derivatives (default true; turn off for ops whose gradient is piecewise constant). */
  gradgrad?: boolean;
  /** The result depends on the inputs' memory layout (asStrided), so it cannot be compared after a copy to the reference. */
  layoutDependent?: boolean;
  numRuns?: number;
  atol?: number;
  rtol?: number;
}

/** fast-check's seed comes from FC_SEED when set (to replay a failure), else it is random per run. */
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
/** FC_NUM_RUNS overrides every property's number of runs (e.g. 200 for a long local soak). */
const runsOverride = process.env.FC_NUM_RUNS ? Number(process.env.FC_NUM_RUNS) : undefined;

/** Registers one test: a property over the spec's inputs, run on `backend`. */
export function gradProperty(backend: string, name: string, spec: GradSpec): void {
  const f64 = hasFloat64(backend);
  it.skipIf(!f64 && spec.layoutDependent)(name, async () => {
    setBackend(backend);
    const tol = { ...(spec.atol !== undefined && { atol: spec.atol }), ...(spec.rtol !== undefined && { rtol: spec.rtol }) };
    const property = fc.asyncProperty(spec.inputs(f64 ? 'float64' : 'float32'), async (drawn) => {
      const [xs, fn] = Array.isArray(drawn) ? [drawn, spec.fn] : [drawn.inputs, drawn.fn];
      if (!fn) throw new Error(`${name}: the spec has no fn and its inputs are not cases`);
      if (f64) {
        await gradcheck(fn, xs, tol);
        if (spec.gradgrad !== false) await gradgradcheck(fn, xs, null, tol);
      } else {
        await compareGradients(fn, xs, { order: spec.gradgrad === false ? 1 : 2 });
      }
    });
    await fc.assert(property, { numRuns: runsOverride ?? spec.numRuns ?? 15, ...(seed !== undefined && { seed }) });
  });
}

/** Default bounds for property inputs: small, so a full Jacobian stays cheap. */
export const SMALL: ShapeOptions = { maxDims: 3, maxSide: 3, maxSize: 12 };

/** A leaf that requires grad, in any layout. */
export function leaf(dtype: FloatDtype, opts: TensorArbOptions & ShapeOptions = {}): fc.Arbitrary<Tensor> {
  const { minDims, maxDims, minSide, maxSide, maxSize, ...rest } = { ...SMALL, ...opts };
  return tensorArb({ shapeArb: shapeArb({ minDims, maxDims, minSide, maxSide, maxSize }), dtype, requiresGrad: true, layouts: ALL_LAYOUTS, ...rest });
}

/** `count` leaves whose shapes broadcast together; `each[i]` refines operand i (e.g. its value range). */
export function leaves(dtype: FloatDtype, count: number, shared: TensorArbOptions & ShapeOptions = {}, each: TensorArbOptions[] = []): fc.Arbitrary<Tensor[]> {
  return broadcastTensorsArb(count, { ...SMALL, dtype, requiresGrad: true, layouts: ALL_LAYOUTS, ...shared }, each);
}

/** Leaves of the given shapes, each in any layout. */
export function leavesOf(dtype: FloatDtype, shapes: readonly (readonly number[])[], opts: TensorArbOptions = {}): fc.Arbitrary<Tensor[]> {
  return fc.tuple(...shapes.map((shape) => leaf(dtype, { ...opts, shape })));
}

/** A constant (no grad) tensor of a given shape, e.g. a mask or an index. */
export function constant(opts: TensorArbOptions): fc.Arbitrary<Tensor> {
  return tensorArb({ layouts: ALL_LAYOUTS, ...opts, requiresGrad: false });
}
