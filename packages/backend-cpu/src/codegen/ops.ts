/**
 * Elementwise op implementations per register type. `scalar` pushes one result; `vector` (float only) returns a
 * v128 of results. float32 math runs on SIMD polynomials (the scalar form runs the same code on a splat); float64
 * transcendental math calls the host's Math functions (see threads/host-math.ts); int32 and bool run in i32 with
 * wrap-around where the reference backend wraps.
 */
import type { BinaryOp, DType, UnaryOp } from '@tessera/core';
import type { Local } from '../wasm/func.js';
import type { PlainOp } from '../wasm/opcodes.js';
import * as M from './math-f32.js';
import type { Native } from './dtypes.js';
import type { Ssa } from './ssa.js';

/** `pow^e`: x^e for a constant exponent from POW_CONSTANTS (float32; see powConstant). */
export type PowConstantOp = `pow^${number}`;
/** Fused activation backward, binary over (x, gradOut): gradOut·act'(x). */
export type ActivationGradOp = 'geluGrad' | 'geluTanhGrad' | 'siluGrad';
export type ElementOp = UnaryOp | BinaryOp | 'copy' | PowConstantOp | ActivationGradOp;

/** Exponents with a float32 kernel that needs no host call: small integers and ±½. */
export const POW_CONSTANTS: ReadonlySet<number> = new Set([2, 3, 4, -1, -2, -3, -4, 0.5, -0.5]);

/**
 * float32 x^e for a constant e, computed in float64 lanes and rounded once to float32, as the reference rounds
 * Math.pow: x² is exact in float64, so up to |e| = 4 the float64 value has at most two roundings (and ½ one, a
 * correctly rounded sqrt) and lands on the same float32. Signs, zeros and infinities follow pow: 1/x keeps −0's
 * sign for odd e, sqrt(x + 0) turns −0 into +0, and pow(−∞, ±½) is +∞ / +0.
 */
function powConstant(e: number): OpImpl {
  const n = Math.abs(e);
  /** f64 (or f64x2, `vt`) x^e from x in local x; returns a new local. */
  const compute = (v: Ssa, x: Local, vt: 'f64' | 'f64x2'): Local => {
    const t = vt === 'f64x2' ? 'v128' : 'f64';
    const op = (name: string, ...args: Local[]) => v.opT(t, `${vt}.${name}` as PlainOp, ...args);
    const konst = (c: number) => (vt === 'f64x2' ? v.f64x2(c) : v.f.hoist(`f64:${c}`, 'f64', () => v.f.f64(c)));
    let y: Local;
    if (n === 0.5) {
      const root = op('sqrt', op('add', x, konst(0)));
      const negInf = v.opT(vt === 'f64x2' ? 'v128' : 'i32', `${vt}.eq` as PlainOp, x, konst(-Infinity));
      y = vt === 'f64x2' ? v.sel(konst(Infinity), root, negInf) : v.opT('f64', 'select', konst(Infinity), root, negInf);
    } else {
      const x2 = n >= 2 ? op('mul', x, x) : x;
      y = n === 1 ? x : n === 2 ? x2 : n === 3 ? op('mul', x2, x) : op('mul', x2, x2);
    }
    return e < 0 ? op('div', konst(1), y) : y;
  };
  return {
    result: 'f32',
    scalar: (v, [x]) => {
      const d = v.opT('f64', 'f64.promote_f32', x!);
      v.f.get(compute(v, d, 'f64')).op('f32.demote_f64');
    },
    vector: (v, [x]) => {
      const lo = v.op('f64x2.promote_low_f32x4', x!);
      const hiLanes = v.f.local('v128');
      v.f.get(x!, x!).shuffle(LANES_2301).set(hiLanes);
      const hi = v.op('f64x2.promote_low_f32x4', hiLanes);
      const [rl, rh] = [v.op('f32x4.demote_f64x2_zero', compute(v, lo, 'f64x2')), v.op('f32x4.demote_f64x2_zero', compute(v, hi, 'f64x2'))];
      const out = v.f.local('v128');
      v.f.get(rl, rh).shuffle(LANES_0145).set(out);
      return out;
    },
  };
}
/** f32 lane shuffles: lanes 2, 3 to the front; lanes 0, 1 of each operand. */
const lanes32 = (...l: number[]) => l.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
const LANES_2301 = lanes32(2, 3, 0, 1);
const LANES_0145 = lanes32(0, 1, 4, 5);

export interface OpImpl {
  /** Register type of the scalar result: the compute type, or i32 for predicates. */
  readonly result: Native;
  scalar(v: Ssa, args: Local[]): void;
  vector?(v: Ssa, args: Local[]): Local;
}

type VecFn = (v: Ssa, x: Local) => Local;

const F32_MATH: Partial<Record<UnaryOp, VecFn>> = {
  exp: M.expF32, log: M.logF32, log1p: M.log1pF32, expm1: M.expm1F32, tanh: M.tanhF32, sigmoid: M.sigmoidF32,
  erf: M.erfF32, gelu: M.geluF32, geluTanh: M.geluTanhF32, silu: M.siluF32,
  sin: (v, x) => M.sinCosF32(v, x, false), cos: (v, x) => M.sinCosF32(v, x, true),
};

const F32_ACT_GRAD: Record<ActivationGradOp, VecFn> = { geluGrad: M.geluGradF32, geluTanhGrad: M.geluTanhGradF32, siluGrad: M.siluGradF32 };

/** gradOut·act'(x) from the derivative's vector form; the scalar form runs it on splats and takes lane 0. */
function activationGrad(vec: VecFn): OpImpl {
  const run = (v: Ssa, x: Local, g: Local) => v.op('f32x4.mul', vec(v, x), g);
  return {
    result: 'f32',
    vector: (v, [x, g]) => run(v, x!, g!),
    scalar: (v, [x, g]) => {
      v.f.get(run(v, v.opT('v128', 'f32x4.splat', x!), v.opT('v128', 'f32x4.splat', g!))).lane('f32x4.extract_lane', 0);
    },
  };
}

/** A float unary op from its vector form; the scalar form splats, runs the vector code and takes lane 0. */
function viaVector(vec: VecFn): OpImpl {
  return {
    result: 'f32',
    vector: (v, [x]) => vec(v, x!),
    scalar: (v, [x]) => {
      const t = v.opT('v128', 'f32x4.splat', x!);
      v.f.get(vec(v, t)).lane('f32x4.extract_lane', 0);
    },
  };
}

/** One-instruction float ops in both widths: [scalar suffix, vector suffix]. */
const SIMPLE_UNARY: Partial<Record<UnaryOp, string>> = { neg: 'neg', abs: 'abs', sqrt: 'sqrt', floor: 'floor', ceil: 'ceil', round: 'nearest' };
const SIMPLE_BINARY: Partial<Record<BinaryOp, string>> = { add: 'add', sub: 'sub', mul: 'mul', div: 'div', maximum: 'max', minimum: 'min' };
const COMPARE: Partial<Record<BinaryOp, string>> = { eq: 'eq', ne: 'ne', lt: 'lt', le: 'le', gt: 'gt', ge: 'ge' };

function floatImpl(op: ElementOp, t: 'f32' | 'f64'): OpImpl | undefined {
  const vt = t === 'f32' ? 'f32x4' : 'f64x2';
  const s = (name: string) => `${t}.${name}` as PlainOp;
  const vv = (name: string) => `${vt}.${name}` as PlainOp;
  const one = (v: Ssa) => (t === 'f32' ? v.f32x4(1) : v.f64x2(1));
  const zero = (v: Ssa) => (t === 'f32' ? v.f32x4(0) : v.f64x2(0));
  const konst = (v: Ssa, x: number) => (t === 'f32' ? v.f.f32(x) : v.f.f64(x));
  /** x != 0 as i32. */
  const truthy = (v: Ssa, x: Local) => {
    v.f.get(x);
    konst(v, 0).op(s('ne'));
  };
  if (op === 'copy') return { result: t, scalar: (v, [x]) => v.f.get(x!), vector: (_v, [x]) => x! };
  const simpleU = SIMPLE_UNARY[op as UnaryOp];
  if (simpleU) return { result: t, scalar: (v, [x]) => v.f.get(x!).op(s(simpleU)), vector: (v, [x]) => v.op(vv(simpleU), x!) };
  const simpleB = SIMPLE_BINARY[op as BinaryOp];
  if (simpleB) return { result: t, scalar: (v, [a, b]) => v.f.get(a!, b!).op(s(simpleB)), vector: (v, [a, b]) => v.op(vv(simpleB), a!, b!) };
  const cmp = COMPARE[op as BinaryOp];
  if (cmp) return { result: 'i32', scalar: (v, [a, b]) => v.f.get(a!, b!).op(s(cmp)) };
  switch (op) {
    case 'reciprocal':
      return { result: t, scalar: (v, [x]) => konst(v, 1).get(x!).op(s('div')), vector: (v, [x]) => v.op(vv('div'), one(v), x!) };
    case 'rsqrt':
      return { result: t, scalar: (v, [x]) => konst(v, 1).get(x!).op(s('sqrt'), s('div')), vector: (v, [x]) => v.op(vv('div'), one(v), v.op(vv('sqrt'), x!)) };
    case 'relu':
      // max propagates NaN and maps −0 to +0, like the reference's (x > 0 ? x : isNaN ? x : 0).
      return {
        result: t,
        scalar: (v, [x]) => {
          v.f.get(x!);
          konst(v, 0).op(s('max'));
        },
        vector: (v, [x]) => v.op(vv('max'), x!, zero(v)),
      };
    case 'sign':
      return {
        result: t,
        scalar: (v, [x]) => {
          konst(v, 1);
          konst(v, -1).get(x!).get(x!);
          konst(v, 0).op(s('lt'), 'select').get(x!);
          konst(v, 0).op(s('gt'), 'select');
        },
        vector: (v, [x]) => {
          const neg = v.sel(t === 'f32' ? v.f32x4(-1) : v.f64x2(-1), x!, v.op(vv('lt'), x!, zero(v)));
          return v.sel(one(v), neg, v.op(vv('gt'), x!, zero(v)));
        },
      };
    case 'isnan':
      return { result: 'i32', scalar: (v, [x]) => v.f.get(x!, x!).op(s('ne')) };
    case 'logicalNot':
      return {
        result: 'i32',
        scalar: (v, [x]) => {
          truthy(v, x!);
          v.f.op('i32.eqz');
        },
      };
    case 'logicalAnd':
    case 'logicalOr':
    case 'logicalXor': {
      const join: PlainOp = op === 'logicalAnd' ? 'i32.and' : op === 'logicalOr' ? 'i32.or' : 'i32.xor';
      return {
        result: 'i32',
        scalar: (v, [a, b]) => {
          truthy(v, a!);
          truthy(v, b!);
          v.f.op(join);
        },
      };
    }
  }
  if (t === 'f32') {
    if (op.startsWith('pow^')) return powConstant(Number(op.slice(4)));
    const vec = F32_MATH[op as UnaryOp];
    if (vec) return viaVector(vec);
    const grad = F32_ACT_GRAD[op as ActivationGradOp];
    if (grad) return activationGrad(grad);
    if (op === 'pow')
      return {
        result: 'f32',
        scalar: (v, [a, b]) => v.f.get(a!).op('f64.promote_f32').get(b!).op('f64.promote_f32').call(v.m.host('pow')).op('f32.demote_f64'),
      };
    return undefined;
  }
  return float64Math(op);
}

/** float64 math through the host, written to round exactly like the reference backend's formulas. */
function float64Math(op: ElementOp): OpImpl | undefined {
  const host = ['exp', 'log', 'log1p', 'expm1', 'sin', 'cos', 'tanh', 'erf'] as const;
  if ((host as readonly string[]).includes(op)) {
    const name = op as (typeof host)[number];
    return { result: 'f64', scalar: (v, [x]) => v.f.get(x!).call(v.m.host(name)) };
  }
  const sigmoid = (v: Ssa, x: Local) => {
    // x ≥ 0 ? 1/(1 + e^−x) : e^x/(1 + e^x)
    const e = v.f.local('f64');
    const f = v.f;
    f.get(x).op('f64.abs', 'f64.neg').call(v.m.host('exp')).set(e);
    f.f64(1).f64(1).get(e).op('f64.add', 'f64.div');
    f.get(e).f64(1).get(e).op('f64.add', 'f64.div');
    f.get(x).f64(0).op('f64.ge', 'select');
  };
  /** Pushes the f64 host-math call's result of a local, stored in a new local. */
  const call = (v: Ssa, name: 'exp' | 'tanh' | 'erf', x: Local) => {
    v.f.get(x).call(v.m.host(name));
    const l = v.f.local('f64');
    v.f.set(l);
    return l;
  };
  const mul = (v: Ssa, ...xs: Local[]) => xs.slice(1).reduce((a, b) => v.opT('f64', 'f64.mul', a, b), xs[0]!);
  const k = (v: Ssa, c: number) => v.f.hoist(`f64:${c}`, 'f64', () => v.f.f64(c));
  switch (op) {
    case 'pow':
      return { result: 'f64', scalar: (v, [a, b]) => v.f.get(a!, b!).call(v.m.host('pow')) };
    case 'geluGrad':
      // g·(½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π))
      return {
        result: 'f64',
        scalar: (v, [x, g]) => {
          const cdf = mul(v, v.opT('f64', 'f64.add', call(v, 'erf', mul(v, x!, k(v, Math.SQRT1_2))), k(v, 1)), k(v, 0.5));
          const pdf = mul(v, call(v, 'exp', mul(v, x!, x!, k(v, -0.5))), k(v, 1 / Math.sqrt(2 * Math.PI)));
          v.f.get(mul(v, g!, v.opT('f64', 'f64.add', cdf, mul(v, x!, pdf))));
        },
      };
    case 'geluTanhGrad':
      // g·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)), t = tanh(√(2/π)(x + 0.044715x³))
      return {
        result: 'f64',
        scalar: (v, [x, g]) => {
          const c = Math.sqrt(2 / Math.PI);
          const x2 = mul(v, x!, x!);
          const t = call(v, 'tanh', mul(v, v.opT('f64', 'f64.add', x!, mul(v, x2, x!, k(v, 0.044715))), k(v, c)));
          const dInner = mul(v, v.opT('f64', 'f64.add', mul(v, x2, k(v, 3 * 0.044715)), k(v, 1)), k(v, c));
          const sech2 = v.opT('f64', 'f64.sub', k(v, 1), mul(v, t, t));
          const d = v.opT('f64', 'f64.add', mul(v, v.opT('f64', 'f64.add', t, k(v, 1)), k(v, 0.5)), mul(v, x!, k(v, 0.5), sech2, dInner));
          v.f.get(mul(v, g!, d));
        },
      };
    case 'siluGrad':
      return {
        result: 'f64',
        scalar: (v, [x, g]) => {
          sigmoid(v, x!);
          const s = v.f.local('f64');
          v.f.set(s);
          const d = mul(v, s, v.opT('f64', 'f64.add', k(v, 1), mul(v, x!, v.opT('f64', 'f64.sub', k(v, 1), s))));
          v.f.get(mul(v, g!, d));
        },
      };
    case 'sigmoid':
      return { result: 'f64', scalar: (v, [x]) => sigmoid(v, x!) };
    case 'silu':
      return { result: 'f64', scalar: (v, [x]) => (v.f.get(x!), sigmoid(v, x!), v.f.op('f64.mul')) };
    case 'gelu':
      return {
        result: 'f64',
        scalar: (v, [x]) => v.f.f64(0.5).get(x!).op('f64.mul').f64(1).get(x!).f64(Math.SQRT2).op('f64.div').call(v.m.host('erf')).op('f64.add', 'f64.mul'),
      };
    case 'geluTanh':
      return {
        result: 'f64',
        scalar: (v, [x]) => {
          const f = v.f;
          f.f64(0.5).get(x!).op('f64.mul').f64(1).f64(Math.sqrt(2 / Math.PI)).get(x!);
          f.f64(0.044715).get(x!).op('f64.mul').get(x!).op('f64.mul').get(x!).op('f64.mul', 'f64.add', 'f64.mul');
          f.call(v.m.host('tanh')).op('f64.add', 'f64.mul');
        },
      };
  }
  return undefined;
}

function int32Impl(op: ElementOp, out: DType): OpImpl | undefined {
  const cmp = COMPARE[op as BinaryOp];
  if (cmp) return { result: 'i32', scalar: (v, [a, b]) => v.f.get(a!, b!).op(`i32.${cmp}${cmp === 'eq' || cmp === 'ne' ? '' : '_s'}` as PlainOp) };
  switch (op) {
    case 'copy':
      return { result: 'i32', scalar: (v, [x]) => v.f.get(x!) };
    case 'maximum':
    case 'minimum':
      return { result: 'i32', scalar: (v, [a, b]) => v.f.get(a!, b!, a!, b!).op(op === 'maximum' ? 'i32.gt_s' : 'i32.lt_s', 'select') };
    case 'logicalAnd':
    case 'logicalOr':
    case 'logicalXor': {
      const join: PlainOp = op === 'logicalAnd' ? 'i32.and' : op === 'logicalOr' ? 'i32.or' : 'i32.xor';
      return { result: 'i32', scalar: (v, [a, b]) => v.f.get(a!).i32(0).op('i32.ne').get(b!).i32(0).op('i32.ne', join) };
    }
    case 'logicalNot':
      return { result: 'i32', scalar: (v, [x]) => v.f.get(x!).op('i32.eqz') };
    case 'isnan':
      return { result: 'i32', scalar: (v) => v.f.i32(0) };
    case 'floor':
    case 'ceil':
    case 'round':
      return { result: 'i32', scalar: (v, [x]) => v.f.get(x!) };
    case 'sign':
      return { result: 'i32', scalar: (v, [x]) => v.f.get(x!).i32(0).op('i32.gt_s').get(x!).i32(0).op('i32.lt_s', 'i32.sub') };
  }
  // Arithmetic wraps modulo 2^32 only when the result is int32 (the reference rounds through float64 otherwise).
  if (out !== 'int32') return undefined;
  switch (op) {
    case 'add':
    case 'sub':
    case 'mul':
      return { result: 'i32', scalar: (v, [a, b]) => v.f.get(a!, b!).op(`i32.${op}`) };
    case 'neg':
      return { result: 'i32', scalar: (v, [x]) => v.f.i32(0).get(x!).op('i32.sub') };
    case 'abs':
      return { result: 'i32', scalar: (v, [x]) => v.f.i32(0).get(x!).op('i32.sub').get(x!).get(x!).i32(0).op('i32.lt_s', 'select') };
    case 'relu':
      return { result: 'i32', scalar: (v, [x]) => v.f.get(x!).i32(0).get(x!).i32(0).op('i32.gt_s', 'select') };
    case 'pow':
      return { result: 'i32', scalar: (v, [a, b]) => v.f.get(a!, b!).call(v.m.host('ipow')) };
  }
  return undefined;
}

/**
 * The implementation of `op` for inputs held in `compute` registers, or undefined when that register type cannot
 * express it with the reference's semantics (the caller then computes in f64).
 */
export function opImpl(op: ElementOp, compute: Native, out: DType): OpImpl | undefined {
  return compute === 'i32' ? int32Impl(op, out) : floatImpl(op, compute);
}
