/** Scalar definitions of the elementwise primitives, in float64: the oracle the fast backends are checked against. */
import type { BinaryOp, UnaryOp } from '../interface.js';

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * erf to about 1e-16: a positive-term series (no cancellation) below 3, the erfc continued fraction above.
 * Float64 gradcheck needs this accuracy; the usual 1e-7 approximations would fail it.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    // erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 0; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * ax * ax) / (2 * n + 3);
      sum += term;
    }
    r = (2 / SQRT_PI) * Math.exp(-ax * ax) * sum;
  } else if (ax < 6.5) {
    // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail.
    let f = ax;
    for (let k = 80; k >= 1; k--) f = ax + k / 2 / f;
    r = 1 - Math.exp(-ax * ax) / SQRT_PI / f;
  } else r = 1;
  return x < 0 ? -r : r;
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Round half to even, like torch.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const GELU_C = Math.sqrt(2 / Math.PI);

export const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid,
  erf,
  reciprocal: (x) => 1 / x,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  relu: (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x))),
  silu: (x) => x * sigmoid(x),
  logicalNot: (x) => (x === 0 ? 1 : 0),
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
};

const nanMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
const nanMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));

export const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: nanMax,
  minimum: nanMin,
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  logicalAnd: (a, b) => +(a !== 0 && b !== 0),
  logicalOr: (a, b) => +(a !== 0 || b !== 0),
  logicalXor: (a, b) => +((a !== 0) !== (b !== 0)),
};

/** Integer-exact versions where float64 math would round (int32 products) or differ (integer division is not a primitive). */
export const int32BinaryFns: Partial<Record<BinaryOp, (a: number, b: number) => number>> = {
  mul: Math.imul,
  pow: (a, b) => {
    if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
    let r = 1;
    for (let i = 0; i < b; i++) r = Math.imul(r, a);
    return r;
  },
};
