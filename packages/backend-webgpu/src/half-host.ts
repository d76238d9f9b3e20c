/**
 * Host side of float16 on WebGPU: packing halves for upload, unpacking them on read, and float16 attention.
 * A float16 buffer of n elements holds ⌈n/2⌉ words (element i is half i & 1 of word i >> 1, little-endian).
 */
import { float16Bits, float16FromBits, type BackendBuffer, type FusedKernels, type TypedArray, type View } from '@tessera/core';
import type { WebGPUBackend } from './backend.js';
import { contiguousStrides } from './params.js';

/** 32-bit words a buffer of n elements of the dtype needs. */
export const wordsFor = (n: number, dtype: string): number => (dtype === 'float16' ? Math.ceil(n / 2) : n);

/** Host values rounded to halves (nearest even) and packed two per word. */
export function packHalves(data: TypedArray): Uint32Array {
  const halves = new Uint16Array(data.length + (data.length & 1));
  for (let i = 0; i < data.length; i++) halves[i] = float16Bits(data[i]!);
  return new Uint32Array(halves.buffer);
}

let table: Float32Array | null = null;
/** Elements first … first+n−1 of packed halves, as float32 values (a 64 Ki-entry table: reads are a lookup). */
export function unpackHalves(words: Uint32Array, first: number, n: number): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = float16FromBits(h);
  }
  const halves = new Uint16Array(words.buffer, words.byteOffset, words.length * 2);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = table[halves[first + i]!]!;
  return out;
}

/**
 * Attention (forward and backward) on float16 inputs: the inputs are widened to float32 copies, the float32
 * kernels run (accumulating in f32), and the outputs are rounded to float16. Two copies per operand instead of a
 * variant of the attention kernels, whose outputs double as scratch space.
 */
export function halfAttention(backend: WebGPUBackend, fused: FusedKernels): FusedKernels {
  const { attention, attentionBackward } = fused;
  const isHalf = (...vs: (View | null)[]) => vs.some((v) => v?.dtype === 'float16');
  /** Runs fn on float32 copies of the float16 views and frees the copies afterwards. */
  const widened = <T>(vs: (View | null)[], fn: (ws: (View | null)[]) => T): T => {
    const temps: BackendBuffer[] = [];
    const ws = vs.map((v) => {
      if (!v || v.dtype !== 'float16') return v;
      const buffer = backend.copy(v, 'float32');
      temps.push(buffer);
      return { buffer, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0, dtype: 'float32' as const };
    });
    try {
      return fn(ws);
    } finally {
      for (const t of temps) backend.free(t);
    }
  };
  /** A contiguous float32 result of `shape` as a new float16 buffer when `like` is float16 (the float32 one is freed). */
  const narrowed = (buffer: BackendBuffer, shape: readonly number[], like: View): BackendBuffer => {
    if (like.dtype !== 'float16') return buffer;
    const out = backend.copy({ buffer, shape, strides: contiguousStrides(shape), offset: 0, dtype: 'float32' }, 'float16');
    backend.free(buffer);
    return out;
  };
  const out: FusedKernels = { ...fused };
  if (attention)
    out.attention = (q, k, v, mask, isCausal, scale) => {
      if (!isHalf(q, k, v, mask)) return attention.call(fused, q, k, v, mask, isCausal, scale);
      const o = widened([q, k, v, mask], ([q2, k2, v2, m2]) => attention.call(fused, q2!, k2!, v2!, m2!, isCausal, scale));
      return narrowed(o, [q.shape[0]!, q.shape[1]!, q.shape[2]!, v.shape[3]!], q);
    };
  if (attentionBackward)
    out.attentionBackward = (q, k, v, mask, isCausal, scale, o, gradOut) => {
      if (!isHalf(q, k, v, mask, o, gradOut)) return attentionBackward.call(fused, q, k, v, mask, isCausal, scale, o, gradOut);
      const g = widened([q, k, v, mask, o, gradOut], ([q2, k2, v2, m2, o2, g2]) =>
        attentionBackward.call(fused, q2!, k2!, v2!, m2!, isCausal, scale, o2!, g2!),
      );
      return { dq: narrowed(g.dq, q.shape, q), dk: narrowed(g.dk, k.shape, k), dv: narrowed(g.dv, v.shape, v) };
    };
  return out;
}
