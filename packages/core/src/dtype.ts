/**
 * Element types and PyTorch-style type promotion.
 *
 * float16 has no typed array in Node 20: on the host its values live in a Float32Array (each value exactly
 * representable in half precision), so `data()` of a float16 tensor is a Float32Array; backends store it as they
 * like (real halves on WebGPU with shader-f16, float32 words rounded to half precision elsewhere).
 */
import { DTypeError } from './errors.js';

export type DType = 'bool' | 'int32' | 'float16' | 'float32' | 'float64';
/** All dtypes, in promotion order. */
export const DTYPES: readonly DType[] = ['bool', 'int32', 'float16', 'float32', 'float64'];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;
export type TypedArrayFor<D extends DType> = D extends 'float32' | 'float16'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

/** Host array types; float16 values are held in a Float32Array. */
const ctors = { bool: Uint8Array, int32: Int32Array, float16: Float32Array, float32: Float32Array, float64: Float64Array } as const;

export function arrayFor(dtype: DType, size: number): TypedArray {
  return new ctors[dtype](size);
}
/** Bytes one element occupies in a host array of `dtype` (4 for float16, which the host keeps as float32). */
export function bytesPer(dtype: DType): number {
  return ctors[dtype].BYTES_PER_ELEMENT;
}
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}

export const isFloat = (d: DType): boolean => d === 'float16' || d === 'float32' || d === 'float64';
export const isInt = (d: DType): boolean => d === 'int32';

/** Category order used by promotion: bool < integer < floating. */
function category(d: DType): number {
  return d === 'bool' ? 0 : d === 'int32' ? 1 : 2;
}
const rank: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3, float64: 4 };

/**
 * promoteTypes with "nothing yet" as the identity. Module-level on purpose: tsx (esbuild keepNames) wraps every
 * named closure in a defineProperty call each time it is created, a measurable cost on per-op paths.
 */
const join = (acc: DType | undefined, d: DType): DType => (acc === undefined ? d : promoteTypes(acc, d));

/** The smallest dtype that can hold both (torch.promote_types). */
export function promoteTypes(a: DType, b: DType): DType {
  return rank[a] >= rank[b] ? a : b;
}

let defaultFloat: DType = 'float32';
/** The dtype of tensors made from non-integer JS numbers, and of float results from integer inputs. */
export function getDefaultDtype(): DType {
  return defaultFloat;
}
export function setDefaultDtype(d: DType): void {
  // float16 as the default would make every JS-number tensor half precision; PyTorch allows it, we keep it out.
  if (d !== 'float32' && d !== 'float64') throw new DTypeError(`setDefaultDtype: expected float32 or float64, got ${d}`);
  defaultFloat = d;
}

/** One participant in type promotion: a tensor (0-dim or not) or a JS scalar. */
export type PromotionArg = { dtype: DType; ndim: number } | number | boolean;

/**
 * PyTorch's result_type: dimensioned tensors decide the dtype; 0-dim tensors and then JS scalars only matter when
 * they belong to a higher category (e.g. an int32 tensor times 0.5 gives the default float dtype).
 * A JS number is an integer scalar when Number.isInteger holds, a float scalar otherwise.
 */
export function resultType(...args: PromotionArg[]): DType {
  let dim: DType | undefined;
  let zero: DType | undefined;
  let scalar: DType | undefined;
  for (const a of args) {
    if (typeof a === 'boolean') scalar = join(scalar, 'bool');
    else if (typeof a === 'number') scalar = join(scalar, Number.isInteger(a) ? 'int32' : defaultFloat);
    else if (a.ndim === 0) zero = join(zero, a.dtype);
    else dim = join(dim, a.dtype);
  }
  let out = dim;
  if (zero !== undefined && (out === undefined || category(zero) > category(out))) out = zero;
  if (scalar !== undefined && (out === undefined || category(scalar) > category(out))) out = scalar;
  return out ?? defaultFloat;
}

/** The float dtype an op computes in for an input dtype: ints and bools go to the default float dtype. */
export function floatOf(d: DType): DType {
  return isFloat(d) ? d : defaultFloat;
}
