/**
 * Reduction kernels: a loop nest over output positions (the kept dims) whose body reduces one run of L elements
 * with byte stride `step` (the reduced dims, collapsed to one by the launcher). sum and prod accumulate in f64 for
 * every dtype, like the reference backend, and round once at the end; max/min compare in the input's type with NaN
 * winning; argmax/argmin keep the first index of the extreme (or of the first NaN). A contiguous run of floats
 * uses SIMD: f64x2 accumulators for sums (f32 lanes widened), f32x4/f64x2 max/min.
 *
 * Extra descriptor words: L, step.
 */
import type { DType, ReduceOp } from '@tessera/core';
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import type { PlainOp } from '../wasm/opcodes.js';
import { BYTES, convert, load, nativeOf, store } from './dtypes.js';
import { advance, emitNest, loopBy, type StrideClass } from './nest.js';

export interface ReduceSpec {
  op: ReduceOp;
  in: DType;
  out: DType;
  nd: number;
  /** Innermost stride classes of [out, x] over the kept dims. */
  classes: readonly StrideClass[];
  /** Whether the reduced run is contiguous. */
  contiguousRun: boolean;
}


/** sum/prod of the run into an f64 accumulator. */
function emitAccumulate(m: KernelModule, f: Fn, spec: ReduceSpec, p: Local, L: Local, step: Local, acc: Local): void {
  const isSum = spec.op === 'sum';
  const x = spec.in;
  const j = f.local('i32');
  f.f64(isSum ? 0 : 1).set(acc);
  f.get(L).set(j);
  if (isSum && spec.contiguousRun && (x === 'float32' || x === 'float64')) {
    const accs = [0, 1, 2, 3].map(() => f.local('v128'));
    for (const a of accs) f.f64x2(0).set(a);
    const addTo = (a: Local) => f.op('f64x2.add').set(a);
    if (x === 'float32') {
      loopBy(f, j, 8, () => {
        for (let h = 0; h < 2; h++) {
          const v = f.local('v128');
          f.get(p).mem('v128.load', 16 * h).set(v);
          f.get(accs[2 * h]!).get(v).op('f64x2.promote_low_f32x4');
          addTo(accs[2 * h]!);
          f.get(accs[2 * h + 1]!).get(v).get(v).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).op('f64x2.promote_low_f32x4');
          addTo(accs[2 * h + 1]!);
        }
        f.get(p).i32(32).op('i32.add').set(p);
      });
    } else {
      loopBy(f, j, 8, () => {
        for (let h = 0; h < 4; h++) {
          f.get(accs[h]!).get(p).mem('v128.load', 16 * h);
          addTo(accs[h]!);
        }
        f.get(p).i32(64).op('i32.add').set(p);
      });
    }
    f.get(accs[0]!, accs[1]!).op('f64x2.add').get(accs[2]!, accs[3]!).op('f64x2.add', 'f64x2.add').set(accs[0]!);
    f.get(accs[0]!).lane('f64x2.extract_lane', 0).get(accs[0]!).lane('f64x2.extract_lane', 1).op('f64.add').set(acc);
  }
  loopBy(f, j, 1, () => {
    f.get(acc).get(p);
    load(f, x);
    convert(f, m, nativeOf(x), 'float64');
    f.op(isSum ? 'f64.add' : 'f64.mul').set(acc);
    f.get(p, step).op('i32.add').set(p);
  });
}

/** max/min of the run into `acc` (input register type), NaN-propagating for floats. */
function emitExtreme(f: Fn, spec: ReduceSpec, p: Local, L: Local, step: Local, acc: Local): void {
  const x = spec.in;
  const t = nativeOf(x);
  const isMax = spec.op === 'max';
  const j = f.local('i32');
  f.get(p);
  load(f, x);
  f.set(acc);
  f.get(p, step).op('i32.add').set(p);
  f.get(L).i32(1).op('i32.sub').set(j);
  if (t !== 'i32' && spec.contiguousRun) {
    const vt = t === 'f32' ? 'f32x4' : 'f64x2';
    const lanes = t === 'f32' ? 4 : 2;
    const pick = `${vt}.${isMax ? 'max' : 'min'}` as PlainOp;
    const va = [f.local('v128'), f.local('v128')];
    f.get(acc).op(`${vt}.splat` as PlainOp).set(va[0]!);
    f.get(va[0]!).set(va[1]!);
    loopBy(f, j, 2 * lanes, () => {
      for (let h = 0; h < 2; h++) f.get(va[h]!).get(p).mem('v128.load', 16 * h).op(pick).set(va[h]!);
      f.get(p).i32(32).op('i32.add').set(p);
    });
    f.get(va[0]!, va[1]!).op(pick).set(va[0]!);
    for (let l = 0; l < lanes; l++) f.get(acc).get(va[0]!).lane(`${vt}.extract_lane` as 'f32x4.extract_lane', l).op(`${t}.${isMax ? 'max' : 'min'}` as PlainOp).set(acc);
  }
  loopBy(f, j, 1, () => {
    if (t === 'i32') {
      const v = f.local('i32');
      f.get(p);
      load(f, x);
      f.set(v);
      f.get(v, acc, v, acc).op(isMax ? 'i32.gt_s' : 'i32.lt_s', 'select').set(acc);
    } else {
      f.get(acc).get(p);
      load(f, x);
      f.op(`${t}.${isMax ? 'max' : 'min'}` as PlainOp).set(acc);
    }
    f.get(p, step).op('i32.add').set(p);
  });
}

/** argmax/argmin: the first index of the extreme, or of the first NaN. */
function emitArg(f: Fn, spec: ReduceSpec, p: Local, L: Local, step: Local, idx: Local): void {
  const x = spec.in;
  const t = nativeOf(x);
  const isMax = spec.op === 'argmax';
  const best = f.local(t);
  const v = f.local(t);
  const j = f.local('i32');
  f.get(p);
  load(f, x);
  f.set(best);
  f.i32(0).set(idx);
  f.i32(1).set(j);
  const better = (): void => {
    if (t === 'i32') f.get(v, best).op(isMax ? 'i32.gt_s' : 'i32.lt_s');
    else f.get(v, best).op(`${t}.${isMax ? 'gt' : 'lt'}` as PlainOp).get(v, v).op(`${t}.ne` as PlainOp, 'i32.or');
  };
  f.block((exit) => {
    if (t !== 'i32') f.get(best, best).op(`${t}.ne` as PlainOp).brIf(exit);
    f.loop((next) => {
      f.get(j, L).op('i32.ge_s').brIf(exit);
      f.get(p, step).op('i32.add').set(p);
      f.get(p);
      load(f, x);
      f.set(v);
      better();
      f.if(() => {
        f.get(v).set(best);
        f.get(j).set(idx);
        if (t !== 'i32') f.get(v, v).op(`${t}.ne` as PlainOp).brIf(exit);
      });
      f.get(j).i32(1).op('i32.add').set(j);
      f.br(next);
    });
  });
}

/**
 * Several outputs at once when the kept inner dim is contiguous in x and out but the reduced run is strided
 * (e.g. summing a [batch, features] gradient over the batch): vectors of adjacent outputs walk the run, so every
 * load is a full vector and rows are read in memory order. Four vectors (16 float32 columns) go together while
 * they last, so eight float64 additions are in flight instead of two (one chain is latency-bound). Same
 * accumulation order as the scalar path.
 */
function emitColumns(f: Fn, spec: ReduceSpec, q: Local[], n: Local, L: Local, step: Local): void {
  const t = nativeOf(spec.in);
  const f32 = t === 'f32';
  const lanes = f32 ? 4 : 2;
  const isSum = spec.op === 'sum';
  const pick = `${f32 ? 'f32x4' : 'f64x2'}.${spec.op}` as PlainOp;
  const [p, j] = [f.local('i32'), f.local('i32')];
  const x = f.local('v128');
  const high = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
  const pass = (vectors: number) => {
    const lo = Array.from({ length: vectors }, () => f.local('v128'));
    const hi = Array.from({ length: vectors }, () => f.local('v128'));
    loopBy(f, n, lanes * vectors, () => {
      f.get(q[1]!).set(p);
      f.get(L).set(j);
      for (let u = 0; u < vectors; u++) {
        if (isSum) {
          f.f64x2(0).set(lo[u]!);
          f.f64x2(0).set(hi[u]!);
        } else f.get(p).mem('v128.load', 16 * u).set(lo[u]!);
      }
      if (!isSum) {
        f.get(p, step).op('i32.add').set(p);
        f.get(j).i32(1).op('i32.sub').set(j);
      }
      loopBy(f, j, 1, () => {
        for (let u = 0; u < vectors; u++) {
          f.get(p).mem('v128.load', 16 * u).set(x);
          if (!isSum) f.get(lo[u]!, x).op(pick).set(lo[u]!);
          else if (!f32) f.get(lo[u]!, x).op('f64x2.add').set(lo[u]!);
          else {
            f.get(lo[u]!, x).op('f64x2.promote_low_f32x4', 'f64x2.add').set(lo[u]!);
            f.get(hi[u]!).get(x, x).shuffle(high).op('f64x2.promote_low_f32x4', 'f64x2.add').set(hi[u]!);
          }
        }
        f.get(p, step).op('i32.add').set(p);
      });
      for (let u = 0; u < vectors; u++) {
        f.get(q[0]!);
        if (isSum && f32) {
          f.get(lo[u]!).op('f32x4.demote_f64x2_zero').get(hi[u]!).op('f32x4.demote_f64x2_zero');
          f.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
        } else f.get(lo[u]!);
        f.mem('v128.store', 16 * u);
      }
      f.get(q[0]!).i32(16 * vectors).op('i32.add').set(q[0]!);
      f.get(q[1]!).i32(16 * vectors).op('i32.add').set(q[1]!);
    });
  };
  pass(4);
  pass(1);
}

export function buildReduce(m: KernelModule, spec: ReduceSpec): void {
  const elems = [BYTES[spec.out], BYTES[spec.in]];
  const float = spec.in === 'float32' || spec.in === 'float64';
  const columns =
    float && spec.out === spec.in && !spec.contiguousRun && spec.classes[0] === 'c' && spec.classes[1] === 'c' && ['sum', 'max', 'min'].includes(spec.op);
  emitNest(
    m,
    spec.nd,
    2,
    ({ f, q, n, s, extra }) => {
      const [L, step] = extra as [Local, Local];
      if (columns) emitColumns(f, spec, q, n, L, step);
      const p = f.local('i32');
      loopBy(f, n, 1, () => {
        f.get(q[1]!).set(p);
        if (spec.op === 'sum' || spec.op === 'prod') {
          const acc = f.local('f64');
          emitAccumulate(m, f, spec, p, L, step, acc);
          f.get(q[0]!).get(acc);
          convert(f, m, 'f64', spec.out);
        } else if (spec.op === 'max' || spec.op === 'min') {
          const acc = f.local(nativeOf(spec.in));
          emitExtreme(f, spec, p, L, step, acc);
          f.get(q[0]!).get(acc);
          convert(f, m, nativeOf(spec.in), spec.out);
        } else {
          const idx = f.local('i32');
          emitArg(f, spec, p, L, step, idx);
          f.get(q[0]!).get(idx);
          convert(f, m, 'i32', spec.out);
        }
        store(f, spec.out);
        advance(f, q, s, spec.classes, elems, 1);
      });
    },
    2,
  );
}
