/**
 * Host (JS) functions that kernels import, for float64 transcendental math where speed matters less than matching
 * the reference backend: float64 kernels call Math.exp/log/… per element, so float64 results (and float64
 * gradchecks) agree with the reference to the last bit for everything but erf. The float32 hot paths never call
 * these; they use the SIMD polynomials in codegen/math-f32.ts.
 *
 * The source is a string so that worker threads build the very same functions (see worker-source.ts).
 */
export const HOST_MATH_SOURCE = `
const SQRT_PI = Math.sqrt(Math.PI);
// erf to ~1e-16: the Maclaurin-type series erf(x) = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1)/(1*3*...*(2n+1)) (all
// terms positive, so no cancellation) for |x| < 3; the erfc continued fraction above; 1 past 6.5.
function erf(x) {
  if (x !== x) return x;
  const ax = Math.abs(x);
  let r;
  if (ax < 3) {
    let term = ax, sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
      if (term <= sum * 1e-17) break;
    }
    r = (2 / SQRT_PI) * Math.exp(-ax * ax) * sum;
  } else if (ax < 6.5) {
    let f = ax;
    for (let k = 80; k >= 1; k--) f = ax + k / 2 / f;
    r = 1 - Math.exp(-ax * ax) / SQRT_PI / f;
  } else r = 1;
  return x < 0 ? -r : r;
}
// int32 power with wrap-around (exponentiation by squaring in the ring of 32-bit integers).
function ipow(a, b) {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
  let r = 1, base = a | 0;
  while (b > 0) {
    if (b & 1) r = Math.imul(r, base);
    base = Math.imul(base, base);
    b = Math.floor(b / 2);
  }
  return r;
}
return {
  exp: Math.exp, log: Math.log, log1p: Math.log1p, expm1: Math.expm1, sin: Math.sin, cos: Math.cos,
  tanh: Math.tanh, pow: Math.pow, erf, ipow,
};
`;

export type HostMathName = 'exp' | 'log' | 'log1p' | 'expm1' | 'sin' | 'cos' | 'tanh' | 'pow' | 'erf' | 'ipow';

export const hostMath = new Function(HOST_MATH_SOURCE)() as Record<HostMathName, (...args: number[]) => number>;

/** Signatures of the host functions, for the module builder. */
export const HOST_MATH_SIGNATURE: Record<HostMathName, { params: ('f64' | 'i32')[]; result: 'f64' | 'i32' }> = {
  exp: { params: ['f64'], result: 'f64' },
  log: { params: ['f64'], result: 'f64' },
  log1p: { params: ['f64'], result: 'f64' },
  expm1: { params: ['f64'], result: 'f64' },
  sin: { params: ['f64'], result: 'f64' },
  cos: { params: ['f64'], result: 'f64' },
  tanh: { params: ['f64'], result: 'f64' },
  pow: { params: ['f64', 'f64'], result: 'f64' },
  erf: { params: ['f64'], result: 'f64' },
  ipow: { params: ['i32', 'i32'], result: 'i32' },
};
