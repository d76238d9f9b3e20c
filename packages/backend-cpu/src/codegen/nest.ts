/**
 * The strided loop nest every elementwise-style kernel is built on. The index space has `nd` dims (already
 * collapsed by layout.ts); each operand has a base address and per-dim byte strides (0 for broadcast dims). The
 * kernel `run(desc, lo, hi, scratch)` visits flat positions [lo, hi) in row-major order: it decomposes lo into a
 * multi-index once, then hands whole runs of the innermost dim to `inner`, and carries the outer index like an
 * odometer, updating each operand's row pointer by its stride.
 *
 * Descriptor (i32 words at desc): shape[nd], then per operand: address, byteStrides[nd].
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';

/** Innermost-dim stride class of an operand: contiguous, broadcast (stride 0), or general. */
export type StrideClass = 'c' | 's' | 'g';

export interface InnerContext {
  f: Fn;
  /** Element addresses of the current run, one per operand; `inner` may advance them. */
  q: Local[];
  /** Elements in the run (may be modified by `inner`). */
  n: Local;
  /** Innermost byte strides per operand (runtime values). */
  s: Local[];
  /** Kernel-specific words that follow the nest descriptor (e.g. a reduction length), loaded once. */
  extra: Local[];
  /** The `scratch` argument (a per-thread block, where the launcher reserved one). */
  scratch: Local;
}

export const descWords = (nd: number, operands: number) => nd + operands * (nd + 1);

/** Writes a nest descriptor (shape, then address + byte strides per operand) into `i32` at word `at`. */
export function writeNestDesc(i32: Int32Array, at: number, shape: readonly number[], operands: readonly { addr: number; strides: readonly number[] }[]): void {
  let w = at;
  for (const s of shape) i32[w++] = s;
  for (const o of operands) {
    i32[w++] = o.addr;
    for (const s of o.strides) i32[w++] = s;
  }
}

/**
 * Emits the exported `run` function of a nest kernel over `nops` operands; `extraWords` i32 words after the nest
 * descriptor are loaded into locals for `inner`.
 */
export function emitNest(m: KernelModule, nd: number, nops: number, inner: (ctx: InnerContext) => void, extraWords = 0): Fn {
  const f = m.func(['i32', 'i32', 'i32', 'i32'], [], 'run');
  const [desc, lo, hi, scratch] = f.params as [Local, Local, Local, Local];
  const i32 = () => f.local('i32');
  const loadWord = (word: number) => {
    const l = i32();
    f.get(desc).mem('i32.load', 4 * word).set(l);
    return l;
  };
  const shape = Array.from({ length: nd }, (_, d) => loadWord(d));
  const base: Local[] = [];
  const strides: Local[][] = [];
  for (let k = 0; k < nops; k++) {
    const w = nd + k * (nd + 1);
    base.push(loadWord(w));
    strides.push(Array.from({ length: nd }, (_, d) => loadWord(w + 1 + d)));
  }
  const extra = Array.from({ length: extraWords }, (_, i) => loadWord(descWords(nd, nops) + i));
  const last = nd - 1;
  // Decompose lo into (idx[0..nd-2], j0) and move each operand's row pointer there.
  const rem = i32();
  const j0 = i32();
  f.get(lo).set(rem);
  f.get(rem).get(shape[last]!).op('i32.rem_u').set(j0);
  f.get(rem).get(shape[last]!).op('i32.div_u').set(rem);
  const idx: Local[] = [];
  for (let d = last - 1; d >= 0; d--) {
    idx[d] = i32();
    f.get(rem).get(shape[d]!).op('i32.rem_u').set(idx[d]!);
    f.get(rem).get(shape[d]!).op('i32.div_u').set(rem);
    for (let k = 0; k < nops; k++) f.get(base[k]!).get(idx[d]!, strides[k]![d]!).op('i32.mul', 'i32.add').set(base[k]!);
  }
  const pos = i32();
  const n = i32();
  const q = Array.from({ length: nops }, () => i32());
  const s = strides.map((st) => st[last]!);
  f.get(lo).set(pos);
  f.beginHoisting();
  f.block((exit) =>
    f.loop((next) => {
      f.get(pos, hi).op('i32.ge_s').brIf(exit);
      // n = min(shape[last] − j0, hi − pos)
      f.get(shape[last]!, j0).op('i32.sub').get(hi, pos).op('i32.sub');
      f.get(shape[last]!, j0).op('i32.sub').get(hi, pos).op('i32.sub').op('i32.lt_s').op('select').set(n);
      f.get(pos, n).op('i32.add').set(pos);
      for (let k = 0; k < nops; k++) f.get(base[k]!, j0, s[k]!).op('i32.mul', 'i32.add').set(q[k]!);
      f.i32(0).set(j0);
      inner({ f, q, n, s, extra, scratch });
      if (nd > 1)
        f.block((carried) => {
          for (let d = last - 1; d >= 0; d--) {
            f.get(idx[d]!).i32(1).op('i32.add').set(idx[d]!);
            for (let k = 0; k < nops; k++) f.get(base[k]!, strides[k]![d]!).op('i32.add').set(base[k]!);
            f.get(idx[d]!, shape[d]!).op('i32.lt_s').brIf(carried);
            f.i32(0).set(idx[d]!);
            for (let k = 0; k < nops; k++) f.get(base[k]!).get(strides[k]![d]!, shape[d]!).op('i32.mul', 'i32.sub').set(base[k]!);
          }
        });
      f.br(next);
    }),
  );
  return f;
}

/** A counted loop `while (n > 0) { body(); n -= step }` over runs of `step` elements, entered only if n ≥ step. */
export function loopBy(f: Fn, n: Local, step: number, body: () => void): void {
  f.block((exit) =>
    f.loop((next) => {
      f.get(n).i32(step).op('i32.lt_s').brIf(exit);
      body();
      f.get(n).i32(step).op('i32.sub').set(n);
      f.br(next);
    }),
  );
}

/** Advances each operand pointer by `count` elements along the inner dim (statically for c/s, else by stride). */
export function advance(f: Fn, q: Local[], s: Local[], classes: readonly StrideClass[], elems: readonly number[], count: number): void {
  for (let k = 0; k < q.length; k++) {
    const cls = classes[k]!;
    if (cls === 's') continue;
    if (cls === 'c') f.get(q[k]!).i32(elems[k]! * count).op('i32.add').set(q[k]!);
    else {
      if (count !== 1) throw new Error('advance: general strides move one element at a time');
      f.get(q[k]!, s[k]!).op('i32.add').set(q[k]!);
    }
  }
}
