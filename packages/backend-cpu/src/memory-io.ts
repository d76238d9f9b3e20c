/** Copies between JS typed arrays and the heap, with the reference backend's casting rules. */
import { type DType, type TypedArray, type View } from '@tessera/core';
import { BYTES } from './codegen/dtypes.js';
import { numel } from './layout.js';
import { copy, fillBuffer } from './ops/elementwise.js';
import type { CpuBuffer, Runtime } from './runtime.js';

// float16 is held in float32 words (see half.ts).
const CTORS = { bool: Uint8Array, int32: Int32Array, float16: Float32Array, float32: Float32Array, float64: Float64Array } as const;

/** A typed-array window onto heap memory (valid until the memory grows). */
export function heapArray(rt: Runtime, dtype: DType, addr: number, length: number): TypedArray {
  return new CTORS[dtype](rt.heap.memory.buffer as ArrayBuffer, addr, length);
}

export function upload(rt: Runtime, data: TypedArray, dtype: DType): CpuBuffer {
  const out = rt.alloc(dtype, data.length);
  const dst = heapArray(rt, dtype, out.ptr, data.length);
  const sameKind = data instanceof CTORS[dtype];
  if (dtype === 'bool') {
    for (let i = 0; i < data.length; i++) dst[i] = data[i] !== 0 ? 1 : 0;
  } else if (dtype === 'int32' && !sameKind && !(data instanceof Uint8Array)) {
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      dst[i] = Number.isFinite(x) ? Math.trunc(x) | 0 : 0;
    }
  } else dst.set(data);
  return out;
}

/** The view's elements in row-major order, as a fresh (non-shared) typed array. */
export function readView(rt: Runtime, view: View): TypedArray {
  const n = numel(view.shape);
  const b = view.buffer as CpuBuffer;
  let contiguous = true;
  for (let d = view.shape.length - 1, s = 1; d >= 0; d--) {
    if (view.shape[d] !== 1 && view.strides[d] !== s) contiguous = false;
    s *= view.shape[d]!;
  }
  if (contiguous) return heapArray(rt, view.dtype, b.ptr + view.offset * BYTES[view.dtype], n).slice();
  const temp = copy(rt, view, view.dtype);
  try {
    return heapArray(rt, view.dtype, temp.ptr, n).slice();
  } finally {
    rt.free(temp);
  }
}

export function fill(rt: Runtime, size: number, value: number, dtype: DType): CpuBuffer {
  const out = rt.alloc(dtype, size);
  const v = dtype === 'bool' ? (value !== 0 ? 1 : 0) : dtype === 'int32' ? (Number.isFinite(value) ? Math.trunc(value) | 0 : 0) : value;
  fillBuffer(rt, out, v);
  return out;
}
