/**
 * Launchers for the fused attention kernels (float32: codegen/attention-f32*.ts, register-blocked over groups of 4
 * query rows; float64: codegen/attention.ts): make the head dim contiguous (copying only when it is not), write the
 * descriptor, and split the work over the pool: query rows (or row groups) for the forward, (b, h) pairs for the
 * backward (dK/dV accumulate per pair).
 */
import type { BackendBuffer, View } from '@tessera/core';
import { ATTN, buildAttention, type AttentionSpec } from '../codegen/attention.js';
import { backwardScratchBytesF32, buildAttentionBackwardF32 } from '../codegen/attention-f32-backward.js';
import { buildAttentionForwardF32, scratchBytesF32 } from '../codegen/attention-f32.js';
import { buildAttentionTiledBackward, buildAttentionTiledForward, padKeys, TILED, tiledBackwardScratch, tiledForwardScratch } from '../codegen/attention-f32-tiled.js';
import { BYTES } from '../codegen/dtypes.js';
import { DESC_BASE } from '../heap.js';
import { contiguousStrides } from '../layout.js';
import { fill } from '../memory-io.js';
import type { CpuBuffer, Runtime } from '../runtime.js';
import { assign, copy } from './elementwise.js';

type FloatDType = 'float32' | 'float64';

function kernelFor(rt: Runtime, spec: AttentionSpec) {
  return rt.kernels.get(`attention-f64:${+spec.causal}${+spec.mask}${+spec.backward}`, (m) => buildAttention(m, spec));
}

class Launch {
  readonly temps: CpuBuffer[] = [];
  readonly dtype: FloatDType;
  readonly e: number;
  constructor(
    readonly rt: Runtime,
    q: View,
  ) {
    if (q.dtype !== 'float32' && q.dtype !== 'float64') throw new Error(`cpu backend: attention expects float inputs, got ${q.dtype}`);
    this.dtype = q.dtype;
    this.e = BYTES[q.dtype];
  }

  /** A 4-d view with a contiguous last axis in the launch dtype. */
  rows(x: View): View {
    if (x.shape.length !== 4) throw new Error(`cpu backend: attention expects 4-d operands, got shape [${x.shape.join(', ')}]`);
    if (x.dtype === this.dtype && (x.strides[3] === 1 || x.shape[3]! <= 1)) return x;
    const buf = copy(this.rt, x, this.dtype);
    this.temps.push(buf);
    return { buffer: buf, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0, dtype: this.dtype };
  }

  /** Writes [addr, bStride, hStride, rowStride] (bytes; 0 on size-1 dims) at `word`, plus the key stride if asked. */
  put(word: number, x: View | null, keyStride = false): void {
    const i32 = this.rt.heap.i32;
    const w = DESC_BASE / 4 + word;
    if (!x) {
      i32.fill(0, w, w + (keyStride ? 5 : 4));
      return;
    }
    i32[w] = (x.buffer as CpuBuffer).ptr + x.offset * this.e;
    const dims = keyStride ? 4 : 3;
    for (let d = 0; d < dims; d++) i32[w + 1 + d] = x.shape[d] === 1 ? 0 : x.strides[d]! * this.e;
  }

  output(shape: number[]): View {
    const buf = this.rt.alloc(this.dtype, shape.reduce((a, b) => a * b, 1));
    return { buffer: buf, shape, strides: contiguousStrides(shape), offset: 0, dtype: this.dtype };
  }

  header(q: View, k: View, v: View, scale: number): void {
    const i32 = this.rt.heap.i32;
    const w = DESC_BASE / 4;
    i32.set([q.shape[1]!, q.shape[2]!, k.shape[2]!, q.shape[3]!, v.shape[3]!], w);
    i32.set(new Int32Array(new Float64Array([scale]).buffer), w + 5);
  }

  /**
   * xᵀ ([B, H, S, E] → [B, H, E, Spad], Spad = S rounded up to a multiple of 8, zero padding) as a temporary (the
   * tiled kernels read 8 keys per vector pair). Runs kernels, so call it before writing the descriptor.
   */
  transposed(x: View): number {
    const [B, H, S, E] = x.shape as [number, number, number, number];
    const Spad = padKeys(S);
    const t: View = { buffer: x.buffer, shape: [B, H, E, S], strides: [x.strides[0]!, x.strides[1]!, x.strides[3]!, x.strides[2]!], offset: x.offset, dtype: x.dtype };
    let buf: CpuBuffer;
    if (Spad === S) buf = copy(this.rt, t, 'float32');
    else {
      buf = fill(this.rt, B * H * E * Spad, 0, 'float32');
      assign(this.rt, { buffer: buf, shape: t.shape, strides: [H * E * Spad, E * Spad, Spad, 1], offset: 0, dtype: 'float32' }, t);
    }
    this.temps.push(buf);
    return buf.ptr;
  }

  /** Writes the tiled kernels' extra descriptor words. */
  putTiled(kt: number, vt: number, S: number): void {
    const w = DESC_BASE / 4;
    this.rt.heap.i32.set([kt, vt, padKeys(S)], w + TILED.KT);
  }

  done(): void {
    for (const t of this.temps) this.rt.free(t);
  }
}

/**
 * Whether the tiled float32 kernels (attention-f32-tiled.ts) apply: head sizes multiples of 8, no explicit mask,
 * at least one key, and (forward) enough query rows to pay for transposing k (per (b, h), in the kernel).
 */
function tiled(q: View, k: View, v: View, mask: View | null, minRows: number): boolean {
  const [L, S, D, Dv] = [q.shape[2]!, k.shape[2]!, q.shape[3]!, v.shape[3]!];
  return q.dtype === 'float32' && !mask && D > 0 && Dv > 0 && D % 8 === 0 && Dv % 8 === 0 && S > 0 && L >= minRows;
}

/** Query rows below which the forward keeps the untiled kernel (decoding: transposing k would cost more). */
const TILED_MIN_ROWS = 16;

export function attentionForward(rt: Runtime, q0: View, k0: View, v0: View, mask0: View | null, isCausal: boolean, scale: number): BackendBuffer {
  const run = new Launch(rt, q0);
  try {
    const [q, k, v] = [run.rows(q0), run.rows(k0), run.rows(v0)];
    const mask = mask0 && mask0.dtype !== run.dtype ? run.rows(mask0) : mask0;
    const [B, H, L, D] = q.shape as [number, number, number, number];
    const [S, Dv] = [k.shape[2]!, v.shape[3]!];
    const out = run.output([B, H, L, Dv]);
    const rows = B * H * L;
    if (rows === 0) return out.buffer;
    const useTiled = tiled(q, k, v, mask, TILED_MIN_ROWS);
    run.header(q, k, v, scale);
    run.put(ATTN.Q, q);
    run.put(ATTN.K, k);
    run.put(ATTN.V, v);
    run.put(ATTN.M, mask, true);
    run.put(ATTN.O, out);
    const work = rows * Math.max(1, isCausal ? Math.min(S, (L + 1) / 2) : S) * (D + Dv + 8) * 2;
    if (useTiled) {
      run.putTiled(0, 0, S); // the forward transposes k per (b, h) inside its tasks
      const kernel = rt.kernels.get(`attention-f32-tiled:${+isCausal}`, (m) => buildAttentionTiledForward(m, isCausal));
      rt.pool.reserveScratch(tiledForwardScratch(D, Dv, S));
      // Small tasks (about 16 per thread): a group is microseconds of work, and a thread the OS delays then
      // leaves little behind for the others to wait on.
      const groups = B * H * Math.ceil(L / 4);
      const parts = rt.parts(work / 2);
      rt.pool.run(kernel, DESC_BASE, groups, parts, Math.ceil(groups / (16 * Math.min(parts, rt.pool.numThreads))));
    } else if (run.dtype === 'float32') {
      // Register-blocked: items are groups of 4 query rows.
      const kernel = rt.kernels.get(`attention-f32:${+isCausal}${+!!mask}`, (m) => buildAttentionForwardF32(m, isCausal, !!mask));
      rt.pool.reserveScratch(scratchBytesF32(Dv));
      const groups = B * H * Math.ceil(L / 4);
      rt.pool.run(kernel, DESC_BASE, groups, rt.parts(work / 2));
    } else {
      const kernel = kernelFor(rt, { causal: isCausal, mask: !!mask, backward: false });
      rt.pool.run(kernel, DESC_BASE, rows, rt.parts(work));
    }
    return out.buffer;
  } finally {
    run.done();
  }
}

export function attentionBackward(
  rt: Runtime, q0: View, k0: View, v0: View, mask0: View | null, isCausal: boolean, scale: number, out0: View, gradOut0: View,
): { dq: BackendBuffer; dk: BackendBuffer; dv: BackendBuffer } {
  const run = new Launch(rt, q0);
  try {
    const [q, k, v, o, go] = [q0, k0, v0, out0, gradOut0].map((x) => run.rows(x)) as [View, View, View, View, View];
    const mask = mask0 && mask0.dtype !== run.dtype ? run.rows(mask0) : mask0;
    const [B, H, L, D] = q.shape as [number, number, number, number];
    const [S, Dv] = [k.shape[2]!, v.shape[3]!];
    const [dq, dk, dv] = [run.output([B, H, L, D]), run.output([B, H, S, D]), run.output([B, H, S, Dv])];
    const pairs = B * H;
    if (pairs > 0) {
      const useTiled = tiled(q, k, v, mask, 1);
      const [kt, vt] = useTiled ? [run.transposed(k0), run.transposed(v0)] : [0, 0];
      run.header(q, k, v, scale);
      run.put(ATTN.Q, q);
      run.put(ATTN.K, k);
      run.put(ATTN.V, v);
      run.put(ATTN.M, mask, true);
      run.put(ATTN.O, o);
      run.put(ATTN.GO, go);
      run.put(ATTN.DQ, dq);
      run.put(ATTN.DK, dk);
      run.put(ATTN.DV, dv);
      let kernel;
      if (useTiled) {
        run.putTiled(kt, vt, S);
        kernel = rt.kernels.get(`attention-f32-tiled-backward:${+isCausal}`, (m) => buildAttentionTiledBackward(m, isCausal));
        rt.pool.reserveScratch(tiledBackwardScratch(D, Dv, S));
      } else if (run.dtype === 'float32') {
        kernel = rt.kernels.get(`attention-f32-backward:${+isCausal}${+!!mask}`, (m) => buildAttentionBackwardF32(m, isCausal, !!mask));
        rt.pool.reserveScratch(backwardScratchBytesF32(D));
      } else kernel = kernelFor(rt, { causal: isCausal, mask: !!mask, backward: true });
      const work = pairs * L * Math.max(1, isCausal ? Math.min(S, (L + 1) / 2) : S) * (3 * D + 2 * Dv + 16) * 2;
      rt.pool.run(kernel, DESC_BASE, pairs, rt.parts(work), 1);
    }
    return { dq: dq.buffer, dk: dk.buffer, dv: dv.buffer };
  } finally {
    run.done();
  }
}
