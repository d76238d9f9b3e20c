/**
 * Fused row kernels over the last axis: softmax / logSoftmax, layerNorm, rmsNorm. The loop nest walks the rows
 * (leading dims, any strides); each row is contiguous (the launcher materializes other layouts first) and is read
 * a few times while it sits in L1. float32 rows use SIMD with f64 accumulation of sums and the f32x4 exp/log
 * polynomials; float64 rows run scalar with the host's exp/log, like the reference's composition.
 *
 * Extra descriptor words: L, weight address, bias address, then eps as an f64 (two words).
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import { expF32, logF32 } from './math-f32.js';
import { descWords, emitNest, loopBy, type StrideClass } from './nest.js';
import { Ssa } from './ssa.js';

export type FusedKind = 'softmax' | 'logSoftmax' | 'layerNorm' | 'rmsNorm';

export interface FusedSpec {
  kind: FusedKind;
  dtype: 'float32' | 'float64';
  nd: number;
  /** [out, x] over the leading dims. */
  classes: readonly StrideClass[];
  weight: boolean;
  bias: boolean;
}

export const FUSED_EXTRA_WORDS = 5;

/** Lane 0 of an f32x4, as an f32 local. */
function lane0(f: Fn, x: Local): Local {
  const l = f.local('f32');
  f.get(x).lane('f32x4.extract_lane', 0).set(l);
  return l;
}

/**
 * Sum over a contiguous f32 row into an f64 (widening each value; `map` may transform the f32x4 first), also
 * storing the mapped values to `dst` when given.
 */
function sumRowF32(f: Fn, v: Ssa, src: Local, L: Local, map: (x: Local) => Local, mapScalar: (x: Local) => Local, dst?: Local): Local {
  const [p, j] = [f.local('i32'), f.local('i32')];
  const q = f.local('i32');
  if (dst) f.get(dst).set(q);
  const [a0, a1] = [f.local('v128'), f.local('v128')];
  const acc = f.local('f64');
  f.get(src).set(p);
  f.get(L).set(j);
  f.f64x2(0).set(a0);
  f.f64x2(0).set(a1);
  loopBy(f, j, 4, () => {
    const x = f.local('v128');
    f.get(p).mem('v128.load').set(x);
    const y = map(x);
    if (dst) {
      f.get(q, y).mem('v128.store');
      f.get(q).i32(16).op('i32.add').set(q);
    }
    f.get(a0, y).op('f64x2.promote_low_f32x4', 'f64x2.add').set(a0);
    f.get(a1).get(y, y).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).op('f64x2.promote_low_f32x4', 'f64x2.add').set(a1);
    f.get(p).i32(16).op('i32.add').set(p);
  });
  f.get(a0, a1).op('f64x2.add').set(a0);
  f.get(a0).lane('f64x2.extract_lane', 0).get(a0).lane('f64x2.extract_lane', 1).op('f64.add').set(acc);
  loopBy(f, j, 1, () => {
    const x = f.local('f32');
    f.get(p).mem('f32.load').set(x);
    const y = mapScalar(x);
    if (dst) {
      f.get(q, y).mem('f32.store');
      f.get(q).i32(4).op('i32.add').set(q);
    }
    f.get(acc).get(y).op('f64.promote_f32', 'f64.add').set(acc);
    f.get(p).i32(4).op('i32.add').set(p);
  });
  return acc;
}

/** out[j] = g(x[j], j) over a contiguous f32 row, four lanes at a time (the scalar tail runs g on a splat). */
function mapRowF32(f: Fn, src: Local, dst: Local, L: Local, g: (x: Local, off: Local) => Local): void {
  const [p, q, j, off] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  f.get(src).set(p);
  f.get(dst).set(q);
  f.get(L).set(j);
  f.i32(0).set(off);
  loopBy(f, j, 4, () => {
    const x = f.local('v128');
    f.get(p).mem('v128.load').set(x);
    f.get(q, g(x, off)).mem('v128.store');
    for (const l of [p, q, off]) f.get(l).i32(16).op('i32.add').set(l);
  });
  loopBy(f, j, 1, () => {
    const x = f.local('v128');
    f.get(p).mem('v128.load32_splat').set(x);
    f.get(q).get(g(x, off)).lane('f32x4.extract_lane', 0).mem('f32.store');
    for (const l of [p, q, off]) f.get(l).i32(4).op('i32.add').set(l);
  });
}

function rowF32(m: KernelModule, f: Fn, spec: FusedSpec, x: Local, out: Local, L: Local, w: Local, b: Local, eps: Local): void {
  const v = new Ssa(f, m);
  if (spec.kind === 'softmax' || spec.kind === 'logSoftmax') {
    // Row max (NaN-propagating); an all −inf row shifts by 0 like the composed version.
    const [p, j] = [f.local('i32'), f.local('i32')];
    const mv = f.local('v128');
    const mx = f.local('f32');
    f.get(x).set(p);
    f.get(L).set(j);
    f.f32x4(-Infinity).set(mv);
    loopBy(f, j, 4, () => {
      f.get(mv).get(p).mem('v128.load').op('f32x4.max').set(mv);
      f.get(p).i32(16).op('i32.add').set(p);
    });
    f.f32(-Infinity).set(mx);
    for (let l = 0; l < 4; l++) f.get(mx).get(mv).lane('f32x4.extract_lane', l).op('f32.max').set(mx);
    loopBy(f, j, 1, () => {
      f.get(mx).get(p).mem('f32.load').op('f32.max').set(mx);
      f.get(p).i32(4).op('i32.add').set(p);
    });
    f.f32(0).get(mx).get(mx).f32(-Infinity).op('f32.eq', 'select').set(mx);
    const mxv = v.opT('v128', 'f32x4.splat', mx);
    // softmax: out = e^(x − m) with Σ (widened) in the same pass, then out /= Σ.
    // logSoftmax: Σ e^(x − m) first, then out = (x − m) − log Σ.
    const expShifted = (t: Local) => expF32(v, v.op('f32x4.sub', t, mxv));
    const expShiftedScalar = (t: Local) => lane0(f, expShifted(v.opT('v128', 'f32x4.splat', t)));
    const s = sumRowF32(f, v, x, L, expShifted, expShiftedScalar, spec.kind === 'softmax' ? out : undefined);
    const sv = f.local('v128');
    f.get(s).op('f32.demote_f64', 'f32x4.splat').set(sv);
    if (spec.kind === 'softmax') mapRowF32(f, out, out, L, (t) => v.op('f32x4.div', t, sv));
    else {
      const logS = logF32(v, sv);
      mapRowF32(f, x, out, L, (t) => v.op('f32x4.sub', v.op('f32x4.sub', t, mxv), logS));
    }
    return;
  }
  // Normalizations: mean (layerNorm), variance / mean square in f64, then one scaling pass.
  const center = spec.kind === 'layerNorm';
  const nf = f.local('f64');
  f.get(L).op('f64.convert_i32_u').set(nf);
  const meanV = f.local('v128');
  if (center) {
    const sum = sumRowF32(f, v, x, L, (t) => t, (t) => t);
    f.get(sum, nf).op('f64.div', 'f32.demote_f64', 'f32x4.splat').set(meanV);
  } else f.f32x4(0).set(meanV);
  const sq = (t: Local) => {
    const d = v.op('f32x4.sub', t, meanV);
    return v.op('f32x4.mul', d, d);
  };
  const ss = sumRowF32(f, v, x, L, sq, (t) => {
    const d = v.opT('f32', 'f32.sub', t, lane0(f, meanV));
    return v.opT('f32', 'f32.mul', d, d);
  });
  const rstd = f.local('v128');
  f.f64(1).get(ss, nf).op('f64.div').get(eps).op('f64.add', 'f64.sqrt', 'f64.div', 'f32.demote_f64', 'f32x4.splat').set(rstd);
  mapRowF32(f, x, out, L, (t, off) => {
    let y = v.op('f32x4.mul', v.op('f32x4.sub', t, meanV), rstd);
    if (spec.weight) {
      const wv = f.local('v128');
      f.get(w, off).op('i32.add').mem('v128.load').set(wv);
      y = v.op('f32x4.mul', y, wv);
    }
    if (spec.bias) {
      const bv = f.local('v128');
      f.get(b, off).op('i32.add').mem('v128.load').set(bv);
      y = v.op('f32x4.add', y, bv);
    }
    return y;
  });
}

/** float64 rows: scalar, with host exp/log. */
function rowF64(m: KernelModule, f: Fn, spec: FusedSpec, x: Local, out: Local, L: Local, w: Local, b: Local, eps: Local): void {
  const [p, q, j] = [f.local('i32'), f.local('i32'), f.local('i32')];
  const [acc, t, c] = [f.local('f64'), f.local('f64'), f.local('f64')];
  /** for each j: body(p = &x[j], q = &out[j]) */
  const each = (from: Local, to: Local, body: () => void) => {
    f.get(from).set(p);
    f.get(to).set(q);
    f.get(L).set(j);
    loopBy(f, j, 1, () => {
      body();
      f.get(p).i32(8).op('i32.add').set(p);
      f.get(q).i32(8).op('i32.add').set(q);
    });
  };
  if (spec.kind === 'softmax' || spec.kind === 'logSoftmax') {
    f.f64(-Infinity).set(c);
    each(x, out, () => f.get(c).get(p).mem('f64.load').op('f64.max').set(c));
    f.f64(0).get(c).get(c).f64(-Infinity).op('f64.eq', 'select').set(c);
    f.f64(0).set(acc);
    each(x, out, () => {
      f.get(p).mem('f64.load').get(c).op('f64.sub').set(t);
      f.get(q, t).mem('f64.store');
      f.get(acc).get(t).call(m.host('exp')).op('f64.add').set(acc);
    });
    if (spec.kind === 'softmax') each(out, out, () => f.get(q).get(q).mem('f64.load').call(m.host('exp')).get(acc).op('f64.div').mem('f64.store'));
    else {
      f.get(acc).call(m.host('log')).set(acc);
      each(out, out, () => f.get(q).get(q).mem('f64.load').get(acc).op('f64.sub').mem('f64.store'));
    }
    return;
  }
  const nf = f.local('f64');
  f.get(L).op('f64.convert_i32_u').set(nf);
  f.f64(0).set(c);
  if (spec.kind === 'layerNorm') {
    f.f64(0).set(acc);
    each(x, out, () => f.get(acc).get(p).mem('f64.load').op('f64.add').set(acc));
    f.get(acc, nf).op('f64.div').set(c);
  }
  f.f64(0).set(acc);
  each(x, out, () => {
    f.get(p).mem('f64.load').get(c).op('f64.sub').set(t);
    f.get(acc, t, t).op('f64.mul', 'f64.add').set(acc);
  });
  f.f64(1).get(acc, nf).op('f64.div').get(eps).op('f64.add', 'f64.sqrt', 'f64.div').set(acc);
  const k = f.local('i32');
  f.i32(0).set(k);
  each(x, out, () => {
    f.get(q).get(p).mem('f64.load').get(c).op('f64.sub').get(acc).op('f64.mul');
    if (spec.weight) f.get(w, k).op('i32.add').mem('f64.load').op('f64.mul');
    if (spec.bias) f.get(b, k).op('i32.add').mem('f64.load').op('f64.add');
    f.mem('f64.store');
    f.get(k).i32(8).op('i32.add').set(k);
  });
}

export function buildFused(m: KernelModule, spec: FusedSpec): void {
  emitNest(
    m,
    spec.nd,
    2,
    ({ f, q, n, s, extra }) => {
      const [L, w, b] = extra as [Local, Local, Local];
      // eps is the f64 in the two words after the bias address.
      const eps = f.local('f64');
      f.get(f.params[0]!).mem('f64.load', 4 * (descWords(spec.nd, 2) + 3)).set(eps);
      const [xRow, outRow] = [f.local('i32'), f.local('i32')];
      loopBy(f, n, 1, () => {
        f.get(q[1]!).set(xRow);
        f.get(q[0]!).set(outRow);
        if (spec.dtype === 'float32') rowF32(m, f, spec, xRow, outRow, L, w, b, eps);
        else rowF64(m, f, spec, xRow, outRow, L, w, b, eps);
        // Next row: the nest's innermost stride (a row stride here, whatever its class).
        for (let k = 0; k < 2; k++) f.get(q[k]!, s[k]!).op('i32.add').set(q[k]!);
      });
    },
    FUSED_EXTRA_WORDS,
  );
}
