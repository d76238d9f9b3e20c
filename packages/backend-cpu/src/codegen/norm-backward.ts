/**
 * Fused layerNorm / rmsNorm backward over the last axis, one row at a time (rows contiguous; the launcher
 * materializes other layouts). Per row: mean (layerNorm) and 1/σ as the forward computes them, then one pass for
 * Σĝ and Σĝ·x̂ (ĝ = gradOut·weight), then dx = rstd·(ĝ − x̂·Σĝx̂/n − Σĝ/n) (no Σĝ term for rmsNorm), also storing
 * gradOut·x̂ for the launcher's weight-gradient reduction when asked. float32 rows run f32x4 with f64 sums (the
 * tail runs the same code on splats, lane 0 kept); float64 rows run scalar.
 *
 * Operands over the leading dims: [dx, x, gradOut, gx̂]. Extra descriptor words: L, weight address, eps (f64).
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import { descWords, emitNest, loopBy, type StrideClass } from './nest.js';
import { Ssa } from './ssa.js';

export interface NormBackwardSpec {
  dtype: 'float32' | 'float64';
  center: boolean;
  weight: boolean;
  /** Store gradOut·x̂ rows (operand 3) for dweight. */
  gxhat: boolean;
  nd: number;
  classes: readonly StrideClass[];
}

export const NORM_BACKWARD_EXTRA_WORDS = 4;

interface Row {
  dx: Local;
  x: Local;
  g: Local;
  gx: Local;
  w: Local;
  L: Local;
  eps: Local;
}

/** Arithmetic of one lane width: 'v' is f32x4 (the f32 tail uses splats), 'd' is scalar f64. */
interface Arith {
  elem: number;
  load(ptr: Local, off: Local, wide: boolean): Local;
  store(ptr: Local, off: Local, x: Local, wide: boolean): void;
  op(name: 'add' | 'sub' | 'mul', a: Local, b: Local): Local;
  /** Splat of an f64 local into the lane type. */
  splat(x: Local): Local;
  /** acc (f64 scalar, or two f64x2 for wide) += x. */
  accumulate(acc: Local[], x: Local, wide: boolean): void;
}

function f32Arith(f: Fn, v: Ssa): Arith {
  const addr = (ptr: Local, off: Local) => f.get(ptr, off).op('i32.add');
  return {
    elem: 4,
    load: (ptr, off, wide) => {
      const l = f.local('v128');
      addr(ptr, off).mem(wide ? 'v128.load' : 'v128.load32_splat').set(l);
      return l;
    },
    store: (ptr, off, x, wide) => {
      addr(ptr, off);
      if (wide) f.get(x).mem('v128.store');
      else f.get(x).lane('f32x4.extract_lane', 0).mem('f32.store');
    },
    op: (name, a, b) => v.op(`f32x4.${name}`, a, b),
    splat: (x) => {
      const l = f.local('v128');
      f.get(x).op('f32.demote_f64', 'f32x4.splat').set(l);
      return l;
    },
    accumulate: (acc, x, wide) => {
      if (!wide) {
        f.get(acc[0]!).get(x).lane('f32x4.extract_lane', 0).op('f64.promote_f32', 'f64.add').set(acc[0]!);
        return;
      }
      f.get(acc[1]!, x).op('f64x2.promote_low_f32x4', 'f64x2.add').set(acc[1]!);
      f.get(acc[2]!).get(x, x).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).op('f64x2.promote_low_f32x4', 'f64x2.add').set(acc[2]!);
    },
  };
}

function f64Arith(f: Fn, v: Ssa): Arith {
  const addr = (ptr: Local, off: Local) => f.get(ptr, off).op('i32.add');
  return {
    elem: 8,
    load: (ptr, off) => {
      const l = f.local('f64');
      addr(ptr, off).mem('f64.load').set(l);
      return l;
    },
    store: (ptr, off, x) => {
      addr(ptr, off).get(x).mem('f64.store');
    },
    op: (name, a, b) => v.opT('f64', `f64.${name}`, a, b),
    splat: (x) => x,
    accumulate: (acc, x) => {
      f.get(acc[0]!, x).op('f64.add').set(acc[0]!);
    },
  };
}

/** An accumulator: [f64 scalar, f64x2 low, f64x2 high], all zero. */
function newAcc(f: Fn): Local[] {
  const acc = [f.local('f64'), f.local('v128'), f.local('v128')];
  f.f64(0).set(acc[0]!);
  f.f64x2(0).set(acc[1]!);
  f.f64x2(0).set(acc[2]!);
  return acc;
}

/** The accumulator's total as an f64 local. */
function total(f: Fn, acc: Local[]): Local {
  f.get(acc[1]!, acc[2]!).op('f64x2.add').set(acc[1]!);
  f.get(acc[0]!).get(acc[1]!).lane('f64x2.extract_lane', 0).op('f64.add').get(acc[1]!).lane('f64x2.extract_lane', 1).op('f64.add').set(acc[0]!);
  return acc[0]!;
}

/** body(off, wide) over the row: four lanes at a time for float32 (then a one-lane tail), one for float64. */
function eachChunk(f: Fn, a: Arith, L: Local, body: (off: Local, wide: boolean) => void): void {
  const [j, off] = [f.local('i32'), f.local('i32')];
  f.get(L).set(j);
  f.i32(0).set(off);
  if (a.elem === 4)
    loopBy(f, j, 4, () => {
      body(off, true);
      f.get(off).i32(16).op('i32.add').set(off);
    });
  loopBy(f, j, 1, () => {
    body(off, false);
    f.get(off).i32(a.elem).op('i32.add').set(off);
  });
}

function row(f: Fn, v: Ssa, a: Arith, spec: NormBackwardSpec, r: Row): void {
  const nf = f.local('f64');
  f.get(r.L).op('f64.convert_i32_u').set(nf);
  const inv = (t: Local) => {
    const l = f.local('f64');
    f.get(t, nf).op('f64.div').set(l);
    return l;
  };
  // Mean and 1/σ, as the forward computes them.
  let mean = f.local('f64');
  f.f64(0).set(mean);
  if (spec.center) {
    const s = newAcc(f);
    eachChunk(f, a, r.L, (off, wide) => a.accumulate(s, a.load(r.x, off, wide), wide));
    mean = inv(total(f, s));
  }
  const meanV = a.splat(mean);
  const ss = newAcc(f);
  eachChunk(f, a, r.L, (off, wide) => {
    const d = a.op('sub', a.load(r.x, off, wide), meanV);
    a.accumulate(ss, a.op('mul', d, d), wide);
  });
  const rstd = f.local('f64');
  f.f64(1).get(total(f, ss), nf).op('f64.div').get(r.eps).op('f64.add', 'f64.sqrt', 'f64.div').set(rstd);
  const rstdV = a.splat(rstd);
  const xhat = (off: Local, wide: boolean) => a.op('mul', a.op('sub', a.load(r.x, off, wide), meanV), rstdV);
  const ghat = (off: Local, wide: boolean) => {
    const g = a.load(r.g, off, wide);
    return spec.weight ? a.op('mul', g, a.load(r.w, off, wide)) : g;
  };
  // Σĝ and Σĝ·x̂.
  const [sg, sgx] = [newAcc(f), newAcc(f)];
  eachChunk(f, a, r.L, (off, wide) => {
    const gh = ghat(off, wide);
    if (spec.center) a.accumulate(sg, gh, wide);
    a.accumulate(sgx, a.op('mul', gh, xhat(off, wide)), wide);
  });
  const meanGX = a.splat(inv(total(f, sgx)));
  const meanG = spec.center ? a.splat(inv(total(f, sg))) : null;
  eachChunk(f, a, r.L, (off, wide) => {
    const xh = xhat(off, wide);
    let inner = a.op('sub', ghat(off, wide), a.op('mul', xh, meanGX));
    if (meanG) inner = a.op('sub', inner, meanG);
    a.store(r.dx, off, a.op('mul', inner, rstdV), wide);
    if (spec.gxhat) a.store(r.gx, off, a.op('mul', a.load(r.g, off, wide), xh), wide);
  });
}

export function buildNormBackward(m: KernelModule, spec: NormBackwardSpec): void {
  emitNest(
    m,
    spec.nd,
    4,
    ({ f, q, n, s, extra }) => {
      const [L, w] = extra as [Local, Local];
      const eps = f.local('f64');
      f.get(f.params[0]!).mem('f64.load', 4 * (descWords(spec.nd, 4) + 2)).set(eps);
      const v = new Ssa(f, m);
      const a = spec.dtype === 'float32' ? f32Arith(f, v) : f64Arith(f, v);
      const rows = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')] as const;
      loopBy(f, n, 1, () => {
        for (let k = 0; k < 4; k++) f.get(q[k]!).set(rows[k]);
        row(f, v, a, spec, { dx: rows[0], x: rows[1], g: rows[2], gx: rows[3], w, L, eps });
        for (let k = 0; k < 4; k++) f.get(q[k]!, s[k]!).op('i32.add').set(q[k]!);
      });
    },
    NORM_BACKWARD_EXTRA_WORDS,
  );
}
