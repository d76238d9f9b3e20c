/**
 * WGSL shared by the kernels: the parameter block, strided view offsets, dtype conversions (every dtype but float16
 * is one 32-bit word: f32, i32, or bool as u32 0/1; float16 packs two halves per word) and float32 math with
 * JavaScript's semantics (NaN, ±inf, pow's edge cases, round half to even).
 *
 * A float16 element is read with a per-binding loader (`loader('X')` → `ld_X(i, dt)`) that widens it to an f32
 * word, so past the load float16 behaves as F32 (`isF`); writing halves needs a kernel variant (kernels/half.ts).
 *
 * NaN tests look at the bits and `!=` is written as `!(a == b)`, so the result does not depend on how a driver
 * compiles unordered comparisons. inf and NaN come from private variables: a WGSL constant expression that
 * evaluates to one is a shader-creation error.
 */

/** Bindings and helpers every kernel uses. `tid` is the flat thread index over a 1-D or spread 2-D grid of 64-wide groups. */
export const PRELUDE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> P: array<u32>;
const F32 = 0u;
const I32 = 1u;
const F16 = 3u;
fn isF(dt: u32) -> bool { return dt == F32 || dt == F16; }
var<private> INF_BITS: u32 = 0x7f800000u;
var<private> NAN_BITS: u32 = 0x7fc00000u;
fn inf() -> f32 { return bitcast<f32>(INF_BITS); }
fn nan() -> f32 { return bitcast<f32>(NAN_BITS); }
fn pi(k: u32) -> i32 { return bitcast<i32>(P[k]); }
fn pf(k: u32) -> f32 { return bitcast<f32>(P[k]); }
fn tid(g: vec3u, nw: vec3u) -> u32 { return g.x + g.y * nw.x * 64u; }
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isInf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn nonzero(x: f32) -> bool { return !(x == 0.0); }

// Offset of row-major element 'linear' of the view described at P[base]: [ndim, offset, shape..., strides...].
fn vOff(base: u32, linear: u32) -> u32 {
  let nd = P[base];
  var off = pi(base + 1u);
  var rem = linear;
  var d = nd;
  loop {
    if (d == 0u) { break; }
    d = d - 1u;
    let s = P[base + 2u + d];
    off = off + i32(rem % s) * pi(base + 2u + nd + d);
    rem = rem / s;
  }
  return u32(off);
}

// float -> int32 like the reference backend: non-finite -> 0, else truncate and wrap modulo 2^32.
fn f2i(x: f32) -> i32 {
  if (isNan(x) || isInf(x)) { return 0; }
  let a = trunc(abs(x));
  if (a < 2147483648.0) { return select(i32(a), -i32(a), x < 0.0); }
  let m = u32(a - floor(a / 4294967296.0) * 4294967296.0);
  return bitcast<i32>(select(m, 0u - m, x < 0.0));
}
fn toF(w: u32, dt: u32) -> f32 {
  if (isF(dt)) { return bitcast<f32>(w); }
  if (dt == I32) { return f32(bitcast<i32>(w)); }
  return f32(w);
}
fn toI(w: u32, dt: u32) -> i32 {
  if (isF(dt)) { return f2i(bitcast<f32>(w)); }
  return bitcast<i32>(w);
}
fn fromF(v: f32, dt: u32) -> u32 {
  if (isF(dt)) { return bitcast<u32>(v); }
  if (dt == I32) { return bitcast<u32>(f2i(v)); }
  return select(0u, 1u, nonzero(v));
}
fn fromI(v: i32, dt: u32) -> u32 {
  if (isF(dt)) { return bitcast<u32>(f32(v)); }
  if (dt == I32) { return bitcast<u32>(v); }
  return select(0u, 1u, v != 0);
}
fn conv(w: u32, inDt: u32, outDt: u32) -> u32 {
  if (inDt == outDt) { return w; }
  if (isF(inDt)) { return fromF(bitcast<f32>(w), outDt); }
  return fromI(toI(w, inDt), outDt);
}
// The half nearest to x (ties to even) as 16 bits, in integer arithmetic: overflow → ±inf, subnormal halves kept.
fn halfBits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u; }
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }
  if (a >= 0x38800000u) {
    let r = a - 0x38000000u;
    return sign | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u);
  }
  if (a < 0x33000000u) { return sign; }
  let m = (a & 0x7fffffu) | 0x800000u;
  let shift = 126u - (a >> 23u);
  return sign | ((m + (1u << (shift - 1u)) - 1u + ((m >> shift) & 1u)) >> shift);
}
`;

/** A loader for data binding NAME (`array<u32>`): element i as a word, with float16 widened to an f32 word. */
export function loader(name: string): string {
  return /* wgsl */ `
fn ld_${name}(i: u32, dt: u32) -> u32 {
  if (dt == F16) { return bitcast<u32>(unpack2x16float(${name}[i >> 1u])[i & 1u]); }
  return ${name}[i];
}`;
}

/** Float32 math used by the elementwise and fused kernels. */
export const MATH = /* wgsl */ `
fn expm1F(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  if (isInf(u)) { return u; }
  return um1 * x / log(u);
}
fn log1pF(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (isInf(u)) { return u; }
  return log(u) * x / (u - 1.0);
}
fn tanhF(x: f32) -> f32 {
  let a = abs(x);
  if (a > 10.0) { return select(-1.0, 1.0, x > 0.0); }
  let t = expm1F(2.0 * a);
  let r = t / (t + 2.0);
  return select(r, -r, x < 0.0);
}
fn sigmoidF(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
// erf: Taylor series near 0 (relative accuracy), Abramowitz-Stegun 7.1.26 beyond (absolute error < 1.5e-7).
fn erfF(x: f32) -> f32 {
  let a = abs(x);
  var r: f32;
  if (a < 0.5) {
    let z = a * a;
    r = 1.1283791671 * a * (1.0 - z * (0.333333333 - z * (0.1 - z * (0.0238095238 - z * (0.0046296296 - z * 0.000757575758)))));
  } else {
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    r = 1.0 - poly * exp(-a * a);
  }
  if (isNan(x)) { return x; }
  return select(r, -r, x < 0.0);
}
// Integer power by squaring, wrapping like Math.imul (the reference's int32 pow).
fn powI(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(-1, 1, (b & 1) == 0); }
    return 0;
  }
  var r = 1;
  var base = a;
  var e = u32(b);
  loop {
    if (e == 0u) { break; }
    if ((e & 1u) == 1u) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}
// a ** b with JavaScript's edge cases; exact-by-squaring for small integer exponents.
fn powF(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isNan(a) || isNan(b)) { return nan(); }
  let ab = abs(a);
  if (isInf(b)) {
    if (ab == 1.0) { return nan(); }
    return select(0.0, inf(), (ab > 1.0) == (b > 0.0));
  }
  let bInt = floor(b) == b;
  let odd = bInt && abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  if (isInf(a)) {
    let r = select(0.0, inf(), b > 0.0);
    return select(r, -r, a < 0.0 && odd);
  }
  if (a < 0.0 && !bInt) { return nan(); }
  var r: f32;
  if (bInt && abs(b) <= 64.0) {
    r = 1.0;
    var base = ab;
    var e = u32(abs(b));
    loop {
      if (e == 0u) { break; }
      if ((e & 1u) == 1u) { r = r * base; }
      base = base * base;
      e = e >> 1u;
    }
    if (b < 0.0) { r = 1.0 / r; }
  } else if (ab == 0.0) {
    r = select(inf(), 0.0, b > 0.0);
  } else {
    r = exp2(b * log2(ab));
  }
  let negBase = a < 0.0 || (a == 0.0 && (bitcast<u32>(a) & 0x80000000u) != 0u);
  return select(r, -r, negBase && odd);
}
`;
