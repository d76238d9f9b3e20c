/**
 * gather / scatter / cumsum kernels on the loop nest.
 *
 * gather and scatter walk the index tensor's positions; the position along `dim` comes from the index value, so
 * the data operand's stride there is 0 in the nest and the kernel adds index·dimStride itself. An index outside
 * [−size, size) stops the kernel and leaves the offending value in the control block for the host to report
 * (negative indices count from the end, like the reference backend).
 *
 * cumsum walks every line along `dim` (the nest covers the other dims) and accumulates in f64 like the reference.
 */
import type { DType } from '@tessera/core';
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import { BYTES, convert, load, nativeOf, store } from './dtypes.js';
import { advance, emitNest, loopBy, type StrideClass } from './nest.js';

/** Control-block bytes where a kernel reports a bad index (flag, value). */
export const INDEX_ERROR_FLAG = 40;
export const INDEX_ERROR_VALUE = 44;

/** Loads the index at q and bounds-checks it against size (an unsigned compare also rejects negatives). */
function checkedIndex(f: Fn, q: Local, size: Local): Local {
  const i = f.local('i32');
  f.get(q).mem('i32.load').set(i);
  f.get(i, size).op('i32.ge_u').if(() => {
    f.i32(INDEX_ERROR_VALUE).get(i).mem('i32.store');
    f.i32(INDEX_ERROR_FLAG).i32(1).mem('i32.store');
    f.ret();
  });
  return i;
}

export interface GatherSpec {
  dtype: DType;
  nd: number;
  /** [out, index, x]. */
  classes: readonly StrideClass[];
}


/** Extra words: size along dim, x's byte stride along dim. */
export function buildGather(m: KernelModule, spec: GatherSpec): void {
  const elems = [BYTES[spec.dtype], 4, BYTES[spec.dtype]];
  emitNest(
    m,
    spec.nd,
    3,
    ({ f, q, n, s, extra }) => {
      const [size, dimStride] = extra as [Local, Local];
      loopBy(f, n, 1, () => {
        const i = checkedIndex(f, q[1]!, size);
        f.get(q[0]!).get(q[2]!).get(i, dimStride).op('i32.mul', 'i32.add');
        load(f, spec.dtype);
        store(f, spec.dtype);
        advance(f, q, s, spec.classes, elems, 1);
      });
    },
    2,
  );
}

export interface ScatterSpec {
  mode: 'set' | 'add';
  dtype: DType;
  nd: number;
  /** [out, index, src]. */
  classes: readonly StrideClass[];
}


/** Extra words: size along dim, out's byte stride along dim. Runs on one thread (indices may repeat). */
export function buildScatter(m: KernelModule, spec: ScatterSpec): void {
  const d = spec.dtype;
  const t = nativeOf(d);
  const elems = [BYTES[d], 4, BYTES[d]];
  emitNest(
    m,
    spec.nd,
    3,
    ({ f, q, n, s, extra }) => {
      const [size, dimStride] = extra as [Local, Local];
      const addr = f.local('i32');
      loopBy(f, n, 1, () => {
        const i = checkedIndex(f, q[1]!, size);
        f.get(q[0]!).get(i, dimStride).op('i32.mul', 'i32.add').set(addr);
        f.get(addr);
        if (spec.mode === 'add') {
          f.get(addr);
          load(f, d);
          f.get(q[2]!);
          load(f, d);
          f.op(t === 'f32' ? 'f32.add' : t === 'f64' ? 'f64.add' : d === 'bool' ? 'i32.or' : 'i32.add');
        } else {
          f.get(q[2]!);
          load(f, d);
        }
        store(f, d);
        advance(f, q, s, spec.classes, elems, 1);
      });
    },
    2,
  );
}

export interface CumsumSpec {
  in: DType;
  out: DType;
  nd: number;
  /** [out, x] over the dims other than `dim`. */
  classes: readonly StrideClass[];
}


/** Extra words: length along dim, out's and x's byte strides along dim. */
export function buildCumsum(m: KernelModule, spec: CumsumSpec): void {
  const elems = [BYTES[spec.out], BYTES[spec.in]];
  emitNest(
    m,
    spec.nd,
    2,
    ({ f, q, n, s, extra }) => {
      const [len, outStride, xStride] = extra as [Local, Local, Local];
      const [po, px, k] = [f.local('i32'), f.local('i32'), f.local('i32')];
      const acc = f.local('f64');
      loopBy(f, n, 1, () => {
        f.get(q[0]!).set(po);
        f.get(q[1]!).set(px);
        f.get(len).set(k);
        f.f64(0).set(acc);
        loopBy(f, k, 1, () => {
          // The reference casts to the output dtype first, then accumulates exactly.
          f.get(acc).get(px);
          load(f, spec.in);
          convert(f, m, nativeOf(spec.in), spec.out);
          convert(f, m, nativeOf(spec.out), 'float64');
          f.op('f64.add').set(acc);
          f.get(po).get(acc);
          convert(f, m, 'f64', spec.out);
          store(f, spec.out);
          f.get(po, outStride).op('i32.add').set(po);
          f.get(px, xStride).op('i32.add').set(px);
        });
        advance(f, q, s, spec.classes, elems, 1);
      });
    },
    3,
  );
}
