/**
 * Batched matmul launcher: picks the kernel specialization (dtype, packing fast paths), writes the batch offset
 * table and descriptor, and splits the work into (batch, row chunk, column chunk) tasks for the thread pool.
 * int32/bool matmuls run in float64 (exact for the integer sizes that fit) and cast back, like the reference.
 */
import type { DType, View } from '@tessera/core';
import { BYTES } from '../codegen/dtypes.js';
import { buildMatmul, MatmulDesc, matmulKey, matmulScratchBytes, nrOf, type MatmulConfig } from '../codegen/matmul.js';
import { DESC_BASE, DESC_BYTES } from '../heap.js';
import { hasRelaxedSimd } from '../wasm/features.js';
import { contiguousStrides, numel } from '../layout.js';
import { fill } from '../memory-io.js';
import type { CpuBuffer, Runtime } from '../runtime.js';
import type { Kernel } from '../threads/pool.js';
import { copy } from './elementwise.js';

/** Flops each thread must get (≈0.5 ms at ~28 GFLOP/s) before a matmul is split; see WORK_PER_THREAD. */
const FLOPS_PER_THREAD = 1 << 24;

/** Blocking per dtype; override for benchmarks with `setMatmulTuning`. */
const tuning: Record<'float32' | 'float64', Pick<MatmulConfig, 'MR' | 'NV' | 'KC' | 'MC' | 'NC'>> = {
  // 4×8 with and without fused multiply-add: a 6×8 tile's 12 accumulators plus one k step's 8 loads spill in V8
  // (measured with relaxed SIMD: 6×8 ~18, 4×8 ~47 GFLOP/s at n = 512).
  float32: { MR: 4, NV: 2, KC: 256, MC: 128, NC: 2048 },
  float64: { MR: 4, NV: 2, KC: 256, MC: 64, NC: 1024 },
};
let useRelaxed = hasRelaxedSimd;
/** Bumped by setMatmulTuning so cached specializations are rebuilt. */
let generation = 0;

/** @internal For benchmarks: change blocking or turn relaxed-SIMD FMA off. */
export function setMatmulTuning(dtype: 'float32' | 'float64', t: Partial<(typeof tuning)['float32']> & { relaxed?: boolean }): void {
  const { relaxed, ...rest } = t;
  Object.assign(tuning[dtype], rest);
  if (relaxed !== undefined) useRelaxed = relaxed && hasRelaxedSimd;
  generation++;
}

interface Specialization {
  cfg: MatmulConfig;
  kernel: Kernel;
  scratchBytes: number;
}

/** Specializations per runtime, by a small integer (dtype, packing flags, tuning generation): no strings per call. */
const specializations = new WeakMap<Runtime, Map<number, Specialization>>();

function specialize(rt: Runtime, dtype: 'float32' | 'float64', aContigK: boolean, aContigM: boolean, bContigN: boolean, bContigK: boolean): Specialization {
  let byCode = specializations.get(rt);
  if (!byCode) specializations.set(rt, (byCode = new Map()));
  const code = (dtype === 'float32' ? 1 : 0) | (+aContigK << 1) | (+aContigM << 2) | (+bContigN << 3) | (+bContigK << 4) | (generation << 5);
  let sp = byCode.get(code);
  if (!sp) {
    const cfg: MatmulConfig = { dtype, ...tuning[dtype], relaxed: useRelaxed, aContigK, aContigM, bContigN, bContigK };
    cfg.MC = Math.max(cfg.MR, Math.floor(cfg.MC / cfg.MR) * cfg.MR);
    const NR = nrOf(cfg);
    cfg.NC = Math.max(NR, Math.floor(cfg.NC / NR) * NR);
    sp = { cfg, kernel: rt.kernels.get(matmulKey(cfg), (m) => buildMatmul(m, cfg)), scratchBytes: matmulScratchBytes(cfg) };
    byCode.set(code, sp);
  }
  return sp;
}

/**
 * A view's stride along d. Strides of size-1 dims never matter; calling them 1 enables the packing fast paths.
 * (Module-level: tsx's keepNames adds a defineProperty per call for a named closure.)
 */
const st = (v: View, d: number) => (v.shape[d] === 1 ? 1 : v.strides[d]!);

export function matmul(rt: Runtime, a: View, b: View, outDtype: DType): CpuBuffer {
  const nd = a.shape.length;
  const [M, K, N] = [a.shape[nd - 2]!, a.shape[nd - 1]!, b.shape[nd - 1]!];
  const batchShape = a.shape.slice(0, nd - 2);
  const batches = numel(batchShape);
  if (batches * M * N === 0 || K === 0) return fill(rt, batches * M * N, 0, outDtype);
  if (a.dtype !== 'float32' && a.dtype !== 'float64') {
    const [a64, b64] = [copy(rt, a, 'float64'), copy(rt, b, 'float64')];
    const view = (buf: CpuBuffer, shape: readonly number[]): View => ({ buffer: buf, shape, strides: contiguousStrides(shape), offset: 0, dtype: 'float64' });
    try {
      const c64 = matmul(rt, view(a64, a.shape), view(b64, b.shape), 'float64');
      const out = copy(rt, view(c64, [...batchShape, M, N]), outDtype);
      rt.free(c64);
      return out;
    } finally {
      rt.free(a64);
      rt.free(b64);
    }
  }
  const dtype = a.dtype;
  const e = BYTES[dtype];
  const [sam, sak, sbk, sbn] = [st(a, nd - 2), st(a, nd - 1), st(b, nd - 2), st(b, nd - 1)];
  const { cfg, kernel, scratchBytes } = specialize(rt, dtype, sak === 1, sam === 1 && sak !== 1, sbn === 1, sbk === 1 && sbn !== 1);
  const NR = nrOf(cfg);

  const out = rt.alloc(outDtype, batches * M * N);
  // Batch table: (A address, B address) per batch, after the descriptor or in a temporary block.
  const tableBytes = batches * 8;
  const inDesc = (MatmulDesc.WORDS + 2 * batches) * 4 <= DESC_BYTES;
  const table = inDesc ? DESC_BASE + MatmulDesc.WORDS * 4 : rt.heap.alloc(tableBytes);
  try {
    const i32 = rt.heap.i32;
    const aBase = (a.buffer as CpuBuffer).ptr + a.offset * e;
    const bBase = (b.buffer as CpuBuffer).ptr + b.offset * e;
    const idx = new Array<number>(batchShape.length).fill(0);
    for (let t = 0; t < batches; t++) {
      let ao = aBase;
      let bo = bBase;
      for (let d = 0; d < idx.length; d++) {
        ao += idx[d]! * a.strides[d]! * e;
        bo += idx[d]! * b.strides[d]! * e;
      }
      i32[table / 4 + 2 * t] = ao;
      i32[table / 4 + 2 * t + 1] = bo;
      for (let d = idx.length - 1; d >= 0 && ++idx[d]! === batchShape[d]; d--) idx[d] = 0;
    }
    // Tasks: about four per thread (claimed dynamically), from whole batches or else column (or row) chunks of at
    // least 64; each task packs its own panels, so smaller chunks cost some repacking.
    const threads = Math.min(rt.pool.numThreads, Math.max(1, Math.floor((2 * batches * M * N * K) / FLOPS_PER_THREAD)));
    let [mChunks, nChunks] = [1, 1];
    const target = threads > 1 ? 4 * threads : 1;
    if (batches < target) {
      const split = Math.ceil(target / batches);
      if (N >= M) nChunks = Math.min(split, Math.max(1, Math.floor(N / 64)));
      else mChunks = Math.min(split, Math.max(1, Math.floor(M / 64)));
    }
    const chunkRows = Math.ceil(Math.ceil(M / mChunks) / cfg.MR) * cfg.MR;
    const chunkCols = Math.ceil(Math.ceil(N / nChunks) / NR) * NR;
    mChunks = Math.ceil(M / chunkRows);
    nChunks = Math.ceil(N / chunkCols);
    const D = MatmulDesc;
    const w = DESC_BASE / 4;
    const words: [number, number][] = [
      [D.M, M], [D.N, N], [D.K, K], [D.SAM, sam * e], [D.SAK, sak * e], [D.SBK, sbk * e], [D.SBN, sbn * e],
      [D.M_CHUNKS, mChunks], [D.CHUNK_ROWS, chunkRows], [D.N_CHUNKS, nChunks], [D.CHUNK_COLS, chunkCols],
      [D.BATCH_TABLE, table], [D.C, out.ptr], [D.C_BATCH_STRIDE, M * N * e],
    ];
    for (const [k, v] of words) i32[w + k] = v;
    rt.pool.reserveScratch(scratchBytes);
    rt.pool.run(kernel, DESC_BASE, batches * mChunks * nChunks, threads, 1);
  } finally {
    if (!inDesc) rt.heap.release(table, tableBytes);
  }
  return out;
}
