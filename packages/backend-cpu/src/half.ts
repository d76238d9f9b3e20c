/**
 * float16 on the cpu backend, as a thin layer at the dtype-dispatch points: a float16 tensor is stored as float32
 * words holding half-precision values, kernels see it as float32 (they compute in float32), and every float16
 * output is rounded to half precision in one pass afterwards — PyTorch CPU's semantics for half ops. Matmul and
 * reductions therefore accumulate in float32 and round once. No kernel is generated for float16.
 */
import { roundFloat16Array, type BackendBuffer, type DType, type FusedKernels, type View } from '@tessera/core';
import { heapArray } from './memory-io.js';
import type { CpuBuffer, Runtime } from './runtime.js';

/** The dtype kernels and buffers use for `d`. */
export const stored = (d: DType): DType => (d === 'float16' ? 'float32' : d);

/** The view as the kernels see it (float16 → its float32 words). */
export const asStored = (v: View): View => (v.dtype === 'float16' ? { ...v, dtype: 'float32' } : v);

/** Rounds a buffer's float32 words to half precision in place when `dtype` is float16; returns the buffer. */
export function rounded<B extends BackendBuffer>(rt: Runtime, buffer: B, dtype: DType): B {
  if (dtype === 'float16') {
    const b = buffer as unknown as CpuBuffer;
    roundFloat16Array(heapArray(rt, 'float32', b.ptr, b.size) as Float32Array);
  }
  return buffer;
}

/**
 * The fused kernels with float16 inputs read as float32 and float16 outputs rounded. Members not listed here are
 * passed through unchanged (they must handle float16 themselves or not be offered it).
 */
export function halfFused(rt: Runtime, f: FusedKernels): FusedKernels {
  const s = (v: View | null) => v && asStored(v);
  return {
    ...f,
    softmax: f.softmax && ((x, log) => rounded(rt, f.softmax!(asStored(x), log), x.dtype)),
    layerNorm: f.layerNorm && ((x, w, b, eps) => rounded(rt, f.layerNorm!(asStored(x), s(w), s(b), eps), x.dtype)),
    rmsNorm: f.rmsNorm && ((x, w, eps) => rounded(rt, f.rmsNorm!(asStored(x), s(w), eps), x.dtype)),
    attention: f.attention && ((q, k, v, mask, causal, scale) => rounded(rt, f.attention!(asStored(q), asStored(k), asStored(v), s(mask), causal, scale), q.dtype)),
    attentionBackward:
      f.attentionBackward &&
      ((q, k, v, mask, causal, scale, out, gradOut) => {
        const g = f.attentionBackward!(asStored(q), asStored(k), asStored(v), s(mask), causal, scale, asStored(out), asStored(gradOut));
        return { dq: rounded(rt, g.dq, q.dtype), dk: rounded(rt, g.dk, k.dtype), dv: rounded(rt, g.dv, v.dtype) };
      }),
  };
}
