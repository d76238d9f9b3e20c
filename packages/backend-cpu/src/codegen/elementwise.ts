/**
 * Elementwise kernels (unary, binary, where, copy/cast), specialized by op, dtypes, rank and the innermost stride
 * class of every operand. When all operands are contiguous or broadcast scalars along the innermost dim and the op
 * has a float vector form, runs go through f32x4 / f64x2 code (unrolled twice) with a scalar tail; otherwise one
 * element at a time.
 */
import type { DType } from '@tessera/core';
import type { KernelModule } from '../kernel-cache.js';
import type { Local } from '../wasm/func.js';
import { BYTES, convert, load, nativeOf, store, type Native } from './dtypes.js';
import { advance, emitNest, loopBy, type StrideClass } from './nest.js';
import { opImpl, type ElementOp, type OpImpl } from './ops.js';
import { Ssa } from './ssa.js';

export interface ElementwiseSpec {
  op: ElementOp | 'where';
  /** Input dtypes (for where: bool, then the two value dtypes). */
  ins: readonly DType[];
  out: DType;
  nd: number;
  /** Innermost stride class of [out, ...ins]. */
  classes: readonly StrideClass[];
}


function choose(spec: ElementwiseSpec): { compute: Native; impl: OpImpl } {
  if (spec.op === 'where') {
    const compute = nativeOf(spec.out);
    return { compute, impl: { result: compute, scalar: (v, [c, a, b]) => v.f.get(a!, b!, c!).op('select') } };
  }
  const native = nativeOf(spec.ins[0]!);
  const impl = opImpl(spec.op, native, spec.out);
  if (impl) return { compute: native, impl };
  const viaF64 = opImpl(spec.op, 'f64', spec.out);
  if (!viaF64) throw new Error(`cpu backend: no kernel for ${spec.op} on ${spec.ins.join(', ')}`);
  return { compute: 'f64', impl: viaF64 };
}

export function buildElementwise(m: KernelModule, spec: ElementwiseSpec): void {
  const { compute, impl } = choose(spec);
  const { ins, out, classes } = spec;
  const isWhere = spec.op === 'where';
  const elems = [BYTES[out], ...ins.map((d) => BYTES[d])];
  // Register type each input is held in while computing (where's condition stays i32).
  const argType = (i: number): Native => (isWhere && i === 0 ? 'i32' : compute);
  // Vector path: float lanes throughout, every operand contiguous or broadcast along the run. where's bool
  // condition is widened from bytes to an f32x4 lane mask (float32 only).
  const whereMask = isWhere && compute === 'f32';
  const vectorOk =
    (impl.vector !== undefined || whereMask) &&
    compute !== 'i32' &&
    impl.result === compute &&
    nativeOf(out) === compute &&
    ins.every((d, i) => nativeOf(d) === compute || (whereMask && i === 0)) &&
    classes[0] === 'c' &&
    classes.every((c) => c !== 'g');
  const vector = isWhere ? (v: Ssa, [c, a, b]: Local[]) => v.sel(a!, b!, c!) : impl.vector;

  emitNest(m, spec.nd, 1 + ins.length, ({ f, q, n, s }) => {
    const v = new Ssa(f, m);
    if (vectorOk) {
      const lanes = compute === 'f32' ? 4 : 2;
      const splat = compute === 'f32' ? 'v128.load32_splat' : 'v128.load64_splat';
      /** The condition bytes as an all-ones/all-zeros lane mask. */
      const toMask = (bytes: Local) => v.op('i32x4.ne', v.op('i32x4.extend_low_i16x8_u', v.op('i16x8.extend_low_i8x16_u', bytes)), v.i32x4(0));
      const scalars = ins.map((d, i) => {
        if (classes[i + 1] !== 's') return undefined;
        const l = f.local('v128');
        if (d === 'bool') {
          f.get(q[i + 1]!).mem('i32.load8_u').op('i32x4.splat').set(l);
          return v.op('i32x4.ne', l, v.i32x4(0));
        }
        f.get(q[i + 1]!).mem(splat).set(l);
        return l;
      });
      const step = (offset: number) => {
        const args = ins.map((d, i) => {
          const sc = scalars[i];
          if (sc) return sc;
          const l = f.local('v128');
          if (d === 'bool') {
            f.get(q[i + 1]!).mem('v128.load32_zero', offset / 4).set(l);
            return toMask(l);
          }
          f.get(q[i + 1]!).mem('v128.load', offset).set(l);
          return l;
        });
        const r = vector!(v, args);
        f.get(q[0]!, r).mem('v128.store', offset);
      };
      loopBy(f, n, 2 * lanes, () => {
        step(0);
        step(16);
        advance(f, q, s, classes, elems, 2 * lanes);
      });
      loopBy(f, n, lanes, () => {
        step(0);
        advance(f, q, s, classes, elems, lanes);
      });
    }
    loopBy(f, n, 1, () => {
      const args = ins.map((d, i) => {
        const l: Local = f.local(argType(i));
        f.get(q[i + 1]!);
        load(f, d);
        if (nativeOf(d) !== argType(i)) convert(f, m, nativeOf(d), argType(i) === 'f64' ? 'float64' : argType(i) === 'f32' ? 'float32' : 'int32');
        f.set(l);
        return l;
      });
      f.get(q[0]!);
      impl.scalar(v, args);
      convert(f, m, impl.result, out);
      store(f, out);
      advance(f, q, s, classes, elems, 1);
    });
  });
}
