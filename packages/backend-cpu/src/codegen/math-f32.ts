/**
 * float32 transcendental functions on f32x4 lanes, emitted inline: range reduction plus minimax polynomials whose
 * coefficients come from scripts/fit-f32-math.py (each about 1–2 ulp before reduction error). Special values
 * (±inf, NaN, zeros, subnormals, overflow) are handled with lane selects, never branches, except sin/cos, which
 * hand lanes with |x| > 6000 to the host's float64 Math.sin/cos (the 3-part π/2 reduction is exact only below that).
 */
import type { Local } from '../wasm/func.js';
import type { Ssa } from './ssa.js';

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const EXP_P = [0.4999999403953552, 0.1666652113199234, 0.04166838899254799, 0.00836869701743126, 0.0013814546400681138];
const EXPM1_Q = [0.16666530072689056, 0.04166688397526741, 0.008368579670786858, 0.001389885088428855];
const LOG_R = [0.6666677594184875, 0.3997758626937866, 0.2987062335014343];
const SIN_S = [-0.1666666716337204, 0.008333329111337662, -0.00019839312881231308, 2.7181263249076437e-06];
const COS_C = [0.0416666679084301, -0.0013888883404433727, 2.479946124367416e-05, -2.720577754189435e-07];
const ERF_E = [
  1.128379225730896, -0.37612634897232056, 0.11283732950687408, -0.026861585676670074, 0.005206751171499491,
  -0.0008211148669943213, 8.675597928231582e-05,
];
/** erfc(z)·exp(z²) as a polynomial in t = 1/(1 + z/2), for 0.875 ≤ z ≤ 10. */
const ERFCX_F = [
  -2.6702250011112483e-7, 0.28210511803627014, 0.2819155752658844, 0.24867959320545197, 0.16374355554580688,
  0.14311102032661438, -0.203227698802948, 0.4146536886692047, -0.823171079158783, 0.7987228631973267,
  -0.37995514273643494, 0.07343674451112747,
];
const PIO2 = [1.57080078125, -4.453584551811218e-6, -8.705516307827565e-10];
const TWO_OVER_PI = 0.6366197466850281;
const SINCOS_LIMIT = 6000;
const SIGN = -0x80000000;

/** 2^n for integer lanes n in [-126, 127], as f32 bits. */
function pow2(v: Ssa, n: Local): Local {
  return v.op('i32x4.shl', v.op('i32x4.add', n, v.i32x4(127)), v.f.hoist('i32:23', 'i32', () => v.f.i32(23)));
}

const ROUND_MAGIC = 12582912; // 1.5·2^23: adding it rounds |v| < 2^22 to an integer held in the low mantissa bits

/**
 * Splits x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite); n as float and integer lanes. The rounding uses the
 * 1.5·2²³ trick (one add gives both the rounded float and, from its bits, the integer), which is far cheaper in
 * SIMD than f32x4.nearest plus the saturating conversion.
 */
function reduceLn2(v: Ssa, x: Local): { n: Local; ni: Local; r: Local } {
  const t = v.op('f32x4.add', v.op('f32x4.mul', x, v.f32x4(LOG2E)), v.f32x4(ROUND_MAGIC));
  const n = v.op('f32x4.sub', t, v.f32x4(ROUND_MAGIC));
  const r = v.op('f32x4.sub', v.op('f32x4.sub', x, v.op('f32x4.mul', n, v.f32x4(LN2_HI))), v.op('f32x4.mul', n, v.f32x4(LN2_LO)));
  return { n, ni: v.op('i32x4.sub', t, v.i32x4(0x4b400000)), r };
}

/** Clamps to [lo, hi]; pmin/pmax are single instructions and, with x first, let NaN through. */
function clamp(v: Ssa, x: Local, lo: number, hi: number): Local {
  return v.op('f32x4.pmax', v.op('f32x4.pmin', x, v.f32x4(hi)), v.f32x4(lo));
}

/** Multiplies by 2^ni in two steps, so ni in [-252, 254] neither overflows the exponent nor skips subnormals. */
function scale2(v: Ssa, p: Local, ni: Local): Local {
  const n1 = v.op('i32x4.shr_s', ni, v.f.hoist('i32:1', 'i32', () => v.f.i32(1)));
  const n2 = v.op('i32x4.sub', ni, n1);
  return v.op('f32x4.mul', v.op('f32x4.mul', p, pow2(v, n1)), pow2(v, n2));
}

export function expF32(v: Ssa, x: Local): Local {
  const xc = clamp(v, x, -104, 88.8);
  const { ni, r } = reduceLn2(v, xc);
  const r2 = v.op('f32x4.mul', r, r);
  const p = v.op('f32x4.add', v.op('f32x4.add', v.op('f32x4.mul', r2, v.hornerF32(r, EXP_P)), r), v.f32x4(1));
  return scale2(v, p, ni);
}

/** 2^f ≈ 1 + f·Q(f) on [−½, ½] (a reweighted least-squares fit, ≈ 1.6 ulp evaluated in float32). */
const EXP2_Q = [0.6931471824645996, 0.24022647738456726, 0.055503323674201965, 0.00961843691766262, 0.0013398875016719103, 0.00015353360504377633];

/**
 * e^x for x ≤ 0 where the results feed a softmax: 2^y, y = x·log₂e, split into 2^n·2^f with |f| ≤ ½ (about 20
 * instructions against expF32's 30: no Cody–Waite split and one power-of-two scale). x is clamped at −87 so 2^n
 * stays normal; results below e^−87 come out as about 1e−38, not 0 (callers map −∞ to 0 themselves). The rounding
 * of y costs relative accuracy only on tiny results (≈ |y|·2⁻²⁴).
 */
export function expNegF32(v: Ssa, x: Local): Local {
  const y = v.op('f32x4.mul', v.op('f32x4.pmax', x, v.f32x4(-87)), v.f32x4(LOG2E));
  const t = v.op('f32x4.add', y, v.f32x4(ROUND_MAGIC));
  const f = v.op('f32x4.sub', y, v.op('f32x4.sub', t, v.f32x4(ROUND_MAGIC)));
  const p = v.op('f32x4.add', v.op('f32x4.mul', f, v.hornerF32(f, EXP2_Q)), v.f32x4(1));
  return v.op('f32x4.mul', p, pow2(v, v.op('i32x4.sub', t, v.i32x4(0x4b400000))));
}

/** expm1; `nonPositive` (x ≤ 0 or NaN, as in tanh) skips the large-argument path. */
export function expm1F32(v: Ssa, x: Local, nonPositive = false): Local {
  const xc = clamp(v, x, -30, nonPositive ? 0 : 88.8);
  const { ni, r } = reduceLn2(v, xc);
  const r2 = v.op('f32x4.mul', r, r);
  // p = expm1(r) = r + r²/2 + r³·Q(r)
  const tail = v.op('f32x4.mul', v.op('f32x4.mul', r2, r), v.hornerF32(r, EXPM1_Q));
  const p = v.op('f32x4.add', v.op('f32x4.add', v.op('f32x4.mul', r2, v.f32x4(0.5)), tail), r);
  // Small n: 2^n·p + (2^n − 1) keeps the digits of p; large n: (p + 1)·2^n − 1 cannot overflow too early.
  const s = pow2(v, nonPositive ? ni : v.op('i32x4.min_s', ni, v.i32x4(24)));
  const small = v.op('f32x4.add', v.op('f32x4.mul', s, p), v.op('f32x4.sub', s, v.f32x4(1)));
  if (nonPositive) return small;
  const big = v.op('f32x4.sub', scale2(v, v.op('f32x4.add', p, v.f32x4(1)), ni), v.f32x4(1));
  return v.sel(big, small, v.op('i32x4.gt_s', ni, v.i32x4(24)));
}

export function logF32(v: Ssa, x: Local): Local {
  // Subnormals: scale into the normal range first.
  const tiny = v.op('f32x4.lt', x, v.f32x4(1.1754943508222875e-38));
  const xs = v.sel(v.op('f32x4.mul', x, v.f32x4(8388608)), x, tiny);
  const eAdj = v.op('v128.and', tiny, v.i32x4(-23));
  // Shift the exponent so the mantissa m lands in [√½, √2).
  const ix = v.op('i32x4.add', xs, v.i32x4(0x3f800000 - 0x3f3504f3));
  const e = v.op('i32x4.add', v.op('i32x4.sub', v.op('i32x4.shr_s', ix, v.f.hoist('i32:23', 'i32', () => v.f.i32(23))), v.i32x4(127)), eAdj);
  const m = v.op('i32x4.add', v.op('v128.and', ix, v.i32x4(0x007fffff)), v.i32x4(0x3f3504f3));
  const f = v.op('f32x4.sub', m, v.f32x4(1));
  const s = v.op('f32x4.div', f, v.op('f32x4.add', m, v.f32x4(1)));
  const z = v.op('f32x4.mul', s, s);
  const logm = v.op('f32x4.add', v.op('f32x4.add', s, s), v.op('f32x4.mul', v.op('f32x4.mul', s, z), v.hornerF32(z, LOG_R)));
  const ef = v.op('f32x4.convert_i32x4_s', e);
  const y = v.op('f32x4.add', v.op('f32x4.mul', ef, v.f32x4(LN2_HI)), v.op('f32x4.add', logm, v.op('f32x4.mul', ef, v.f32x4(LN2_LO))));
  // log(0) = −inf, log(+inf) = +inf, log(x < 0) = log(NaN) = NaN.
  const zeroOrNan = v.sel(v.f32x4(-Infinity), v.f32x4(NaN), v.op('f32x4.eq', x, v.f32x4(0)));
  const special = v.sel(v.f32x4(Infinity), zeroOrNan, v.op('f32x4.eq', x, v.f32x4(Infinity)));
  const finitePos = v.op('v128.and', v.op('f32x4.gt', x, v.f32x4(0)), v.op('f32x4.lt', x, v.f32x4(Infinity)));
  return v.sel(y, special, finitePos);
}

/** log1p(x) = log(u)·x/(u − 1) with u = 1 + x, which cancels the rounding of u (and x where u == 1). */
export function log1pF32(v: Ssa, x: Local): Local {
  const u = v.op('f32x4.add', x, v.f32x4(1));
  const um1 = v.op('f32x4.sub', u, v.f32x4(1));
  const y = v.op('f32x4.mul', logF32(v, u), v.op('f32x4.div', x, um1));
  const exact = v.op('v128.or', v.op('f32x4.eq', um1, v.f32x4(0)), v.op('f32x4.eq', x, v.f32x4(Infinity)));
  return v.sel(x, y, exact);
}

/** tanh(x) = −t/(t + 2) with t = expm1(−2|x|), carrying x's sign: no overflow and no cancellation near 0. */
export function tanhF32(v: Ssa, x: Local): Local {
  const a = v.op('f32x4.abs', x);
  const t = expm1F32(v, v.op('f32x4.mul', a, v.f32x4(-2)), true);
  const y = v.op('f32x4.abs', v.op('f32x4.div', t, v.op('f32x4.add', t, v.f32x4(2))));
  return v.op('v128.or', y, v.op('v128.and', x, v.i32x4(SIGN)));
}

/** σ(x) with e = exp(−|x|): 1/(1 + e) for x ≥ 0 and e/(1 + e) below, so tiny results keep their digits. */
export function sigmoidF32(v: Ssa, x: Local): Local {
  const e = expF32(v, v.op('f32x4.neg', v.op('f32x4.abs', x)));
  const r = v.op('f32x4.div', v.f32x4(1), v.op('f32x4.add', e, v.f32x4(1)));
  return v.sel(r, v.op('f32x4.mul', e, r), v.op('f32x4.ge', x, v.f32x4(0)));
}

/**
 * erf(z) and erfc(z) for z ≥ 0 (or NaN): a polynomial below 0.875, exp(−z²)·erfcx(z) above. The second branch is
 * skipped when every lane is small (common for activations), since selects would evaluate both.
 */
function erfParts(v: Ssa, z: Local): { erf: Local; erfc: Local } {
  const f = v.f;
  const small = v.op('f32x4.lt', z, v.f32x4(0.875));
  const z2 = v.op('f32x4.mul', z, z);
  const es = v.op('f32x4.mul', z, v.hornerF32(z2, ERF_E));
  const ecl = f.local('v128');
  f.v128(new Uint8Array(16)).set(ecl);
  f.get(small).op('i32x4.all_true', 'i32.eqz').if(() => {
    const zc = v.op('f32x4.pmin', z, v.f32x4(10));
    const t = v.op('f32x4.div', v.f32x4(1), v.op('f32x4.add', v.op('f32x4.mul', zc, v.f32x4(0.5)), v.f32x4(1)));
    f.get(v.op('f32x4.mul', expF32(v, v.op('f32x4.neg', z2)), v.hornerF32(t, ERFCX_F))).set(ecl);
  });
  return {
    erf: v.sel(es, v.op('f32x4.sub', v.f32x4(1), ecl), small),
    erfc: v.sel(v.op('f32x4.sub', v.f32x4(1), es), ecl, small),
  };
}

export function erfF32(v: Ssa, x: Local): Local {
  const { erf } = erfParts(v, v.op('f32x4.abs', x));
  return v.op('v128.or', erf, v.op('v128.and', x, v.i32x4(SIGN)));
}

/** gelu(x) = x·Φ(x): ½x(1 + erf(|x|/√2)) for x ≥ 0, ½x·erfc(|x|/√2) below (no cancellation in the left tail). */
export function geluF32(v: Ssa, x: Local): Local {
  const { erf, erfc } = erfParts(v, v.op('f32x4.mul', v.op('f32x4.abs', x), v.f32x4(Math.SQRT1_2)));
  const phi2 = v.sel(v.op('f32x4.add', erf, v.f32x4(1)), erfc, v.op('f32x4.ge', x, v.f32x4(0)));
  return v.op('f32x4.mul', v.op('f32x4.mul', x, v.f32x4(0.5)), phi2);
}

/** The tanh approximation ½x(1 + tanh(u)) written as x·σ(2u), u = √(2/π)(x + 0.044715x³). */
export function geluTanhF32(v: Ssa, x: Local): Local {
  const x2 = v.op('f32x4.mul', x, x);
  const inner = v.op('f32x4.add', v.op('f32x4.mul', x2, v.f32x4(0.044715)), v.f32x4(1));
  const u2 = v.op('f32x4.mul', v.op('f32x4.mul', x, inner), v.f32x4(2 * Math.sqrt(2 / Math.PI)));
  return v.op('f32x4.mul', x, sigmoidF32(v, u2));
}

export function siluF32(v: Ssa, x: Local): Local {
  return v.op('f32x4.mul', x, sigmoidF32(v, x));
}

/** sin (or cos, as sin shifted a quadrant) with the 3-part π/2 reduction; far lanes go to the host in float64. */
export function sinCosF32(v: Ssa, x: Local, cos: boolean): Local {
  // j = round(x·2/π) (as float and integer, by the 1.5·2²³ trick; far lanes are redone on the host below).
  const jm = v.op('f32x4.add', v.op('f32x4.mul', x, v.f32x4(TWO_OVER_PI)), v.f32x4(ROUND_MAGIC));
  const j = v.op('f32x4.sub', jm, v.f32x4(ROUND_MAGIC));
  let r = v.op('f32x4.sub', x, v.op('f32x4.mul', j, v.f32x4(PIO2[0]!)));
  r = v.op('f32x4.sub', r, v.op('f32x4.mul', j, v.f32x4(PIO2[1]!)));
  r = v.op('f32x4.sub', r, v.op('f32x4.mul', j, v.f32x4(PIO2[2]!)));
  let q = v.op('i32x4.sub', jm, v.i32x4(0x4b400000));
  if (cos) q = v.op('i32x4.add', q, v.i32x4(1));
  const z = v.op('f32x4.mul', r, r);
  const s = v.op('f32x4.add', v.op('f32x4.mul', v.op('f32x4.mul', r, z), v.hornerF32(z, SIN_S)), r);
  const c = v.op(
    'f32x4.add',
    v.op('f32x4.sub', v.f32x4(1), v.op('f32x4.mul', z, v.f32x4(0.5))),
    v.op('f32x4.mul', v.op('f32x4.mul', z, z), v.hornerF32(z, COS_C)),
  );
  const useCos = v.op('i32x4.ne', v.op('v128.and', q, v.i32x4(1)), v.i32x4(0));
  const flip = v.op('i32x4.shl', v.op('v128.and', q, v.i32x4(2)), v.f.hoist('i32:30', 'i32', () => v.f.i32(30)));
  const out = v.op('v128.xor', v.sel(c, s, useCos), flip);
  // Rare: |x| beyond the reduction's exact range (or ±inf/NaN, which the host maps to NaN) → host float64 per lane.
  const far = v.op('v128.not', v.op('f32x4.le', v.op('f32x4.abs', x), v.f32x4(SINCOS_LIMIT)));
  const f = v.f;
  const host = v.m.host(cos ? 'cos' : 'sin');
  f.get(far).op('v128.any_true').if(() => {
    for (let lane = 0; lane < 4; lane++) {
      f.get(out).get(x).lane('f32x4.extract_lane', lane).op('f64.promote_f32').call(host).op('f32.demote_f64');
      f.lane('f32x4.replace_lane', lane).set(out);
    }
  });
  return out;
}

// ---- activation derivatives (the fused activationBackward multiplies these by the output gradient) ----------

/** gelu'(x) = Φ(x) + x·φ(x), Φ from erf/erfc as in geluF32. */
export function geluGradF32(v: Ssa, x: Local): Local {
  const { erf, erfc } = erfParts(v, v.op('f32x4.mul', v.op('f32x4.abs', x), v.f32x4(Math.SQRT1_2)));
  const phi2 = v.sel(v.op('f32x4.add', erf, v.f32x4(1)), erfc, v.op('f32x4.ge', x, v.f32x4(0)));
  const pdf = v.op('f32x4.mul', expF32(v, v.op('f32x4.mul', v.op('f32x4.mul', x, x), v.f32x4(-0.5))), v.f32x4(1 / Math.sqrt(2 * Math.PI)));
  return v.op('f32x4.add', v.op('f32x4.mul', phi2, v.f32x4(0.5)), v.op('f32x4.mul', x, pdf));
}

/**
 * d/dx of ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³): with s = σ(2u) = ½(1 + tanh u) (so 1 − tanh²u = 4s(1 − s)),
 * s + 2x·s(1 − s)·u′, u′ = √(2/π)(1 + 3·0.044715x²).
 */
export function geluTanhGradF32(v: Ssa, x: Local): Local {
  const c = Math.sqrt(2 / Math.PI);
  const x2 = v.op('f32x4.mul', x, x);
  const u2 = v.op('f32x4.mul', v.op('f32x4.mul', x, v.op('f32x4.add', v.op('f32x4.mul', x2, v.f32x4(0.044715)), v.f32x4(1))), v.f32x4(2 * c));
  const s = sigmoidF32(v, u2);
  const du2 = v.op('f32x4.add', v.op('f32x4.mul', x2, v.f32x4(2 * c * 3 * 0.044715)), v.f32x4(2 * c));
  const ds = v.op('f32x4.mul', v.op('f32x4.mul', s, v.op('f32x4.sub', v.f32x4(1), s)), du2);
  return v.op('f32x4.add', s, v.op('f32x4.mul', x, ds));
}

/** silu'(x) = σ(x)·(1 + x·(1 − σ(x))). */
export function siluGradF32(v: Ssa, x: Local): Local {
  const s = sigmoidF32(v, x);
  return v.op('f32x4.mul', s, v.op('f32x4.add', v.f32x4(1), v.op('f32x4.mul', x, v.op('f32x4.sub', v.f32x4(1), s))));
}
