/** Strided-index helpers: the memory offset of every element of a view, in row-major order. */
import type { DType, TypedArray } from '../../dtype.js';
import { roundFloat16 } from '../../float16.js';
import type { View } from '../interface.js';

/** Offsets of all elements of (shape, strides, offset) in row-major order. */
export function offsetsOf(shape: readonly number[], strides: readonly number[], offset: number): Int32Array | Float64Array {
  let n = 1;
  for (const s of shape) n *= s;
  const out = n < 2 ** 31 ? new Int32Array(n) : new Float64Array(n);
  if (n === 0) return out;
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let off = offset;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    // Odometer increment with incremental offset update.
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

export const viewOffsets = (v: View) => offsetsOf(v.shape, v.strides, v.offset);

/** A function that converts a JS number to what a typed array of `dtype` should store. */
export function caster(dtype: DType): (x: number) => number {
  if (dtype === 'bool') return (x) => (x !== 0 ? 1 : 0);
  if (dtype === 'int32') return (x) => (Number.isFinite(x) ? Math.trunc(x) | 0 : 0);
  // float16 lives in a Float32Array; every stored value is rounded to half precision once, from the exact result.
  if (dtype === 'float16') return roundFloat16;
  return (x) => x;
}

export type Data = TypedArray;
