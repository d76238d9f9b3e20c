/**
 * Elementwise kernels: strided copy with cast (also serves assign), unary, binary, where, fill and the counter-based
 * random generator. One thread per output element; each input is read through its own view descriptor, so
 * transposed, sliced and broadcast (stride 0) inputs are indexed in place. The op is a parameter (a switch), so each
 * family is one pipeline.
 */
import { BINARY_OPS, UNARY_OPS, type BinaryOp, type UnaryOp } from '@tessera/core';
import type { KernelSource } from '../runtime.js';
import { loader, MATH, PRELUDE } from './prelude.js';

const U = Object.fromEntries(UNARY_OPS.map((op, i) => [op, `${i}u`])) as Record<UnaryOp, string>;
const B = Object.fromEntries(BINARY_OPS.map((op, i) => [op, `${i}u`])) as Record<BinaryOp, string>;
export const unaryCode = (op: UnaryOp) => UNARY_OPS.indexOf(op);
export const binaryCode = (op: BinaryOp) => BINARY_OPS.indexOf(op);

const MAIN = '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u)';

/** P: n, inDt, outDt, srcView, dstView. Y[dst(i)] = cast(X[src(i)]). */
export const COPY: KernelSource = {
  name: 'copy',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<u32>;
${loader('X')}
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  Y[vOff(P[4], i)] = conv(ld_X(vOff(P[3], i), P[1]), P[1], P[2]);
}`,
};

/** P: n, word. */
export const FILL: KernelSource = {
  name: 'fill',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  Y[i] = P[1];
}`,
};

/**
 * P: n, then the n words. A small upload (a scalar operand, a short index list) written by a kernel from its
 * parameter block instead of a buffer copy: a copy ends the compute pass, and on Dawn over Vulkan each pass break
 * costs more GPU time than a small kernel.
 */
export const SET_WORDS: KernelSource = {
  name: 'setWords',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  Y[i] = P[1u + i];
}`,
};

/** P: n, op, inDt, outDt, view. Integer inputs keep integer math for the ops where it differs. */
export const UNARY: KernelSource = {
  name: 'unary',
  code: `${PRELUDE}${MATH}
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<u32>;
${loader('X')}
fn unaryI(op: u32, x: i32) -> i32 {
  switch op {
    case ${U.neg}: { return -x; }
    case ${U.abs}: { return abs(x); }
    case ${U.sign}: { return sign(x); }
    case ${U.relu}: { return max(x, 0); }
    case ${U.logicalNot}: { return select(0, 1, x == 0); }
    case ${U.isnan}: { return 0; }
    default: { return x; } // floor, ceil, round
  }
}
fn isIntOp(op: u32) -> bool {
  return op == ${U.neg} || op == ${U.abs} || op == ${U.sign} || op == ${U.relu} || op == ${U.logicalNot} ||
    op == ${U.isnan} || op == ${U.floor} || op == ${U.ceil} || op == ${U.round};
}
fn unaryF(op: u32, x: f32) -> f32 {
  switch op {
    case ${U.neg}: { return -x; }
    case ${U.abs}: { return abs(x); }
    case ${U.sign}: { if (x > 0.0) { return 1.0; } if (x < 0.0) { return -1.0; } return x; }
    case ${U.exp}: { return exp(x); }
    case ${U.log}: { if (x == 0.0) { return -inf(); } if (x < 0.0) { return nan(); } return log(x); }
    case ${U.log1p}: { if (x == -1.0) { return -inf(); } if (x < -1.0) { return nan(); } return log1pF(x); }
    case ${U.expm1}: { return expm1F(x); }
    case ${U.sqrt}: { if (x < 0.0) { return nan(); } return sqrt(x); }
    case ${U.rsqrt}: { if (x < 0.0) { return nan(); } return 1.0 / sqrt(x); }
    case ${U.sin}: { return sin(x); }
    case ${U.cos}: { return cos(x); }
    case ${U.tanh}: { return tanhF(x); }
    case ${U.sigmoid}: { return sigmoidF(x); }
    case ${U.erf}: { return erfF(x); }
    case ${U.reciprocal}: { return 1.0 / x; }
    case ${U.floor}: { return floor(x); }
    case ${U.ceil}: { return ceil(x); }
    case ${U.round}: { return round(x); }
    case ${U.relu}: { if (isNan(x) || x > 0.0) { return x; } return 0.0; }
    case ${U.gelu}: { return 0.5 * x * (1.0 + erfF(x * 0.70710678118654752)); }
    case ${U.geluTanh}: { return 0.5 * x * (1.0 + tanhF(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
    case ${U.silu}: { return x * sigmoidF(x); }
    case ${U.logicalNot}: { return select(0.0, 1.0, x == 0.0); }
    case ${U.isnan}: { return select(0.0, 1.0, isNan(x)); }
    default: { return nan(); }
  }
}
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  let op = P[1];
  let inDt = P[2];
  let w = ld_X(vOff(4u, i), inDt);
  if (!isF(inDt) && isIntOp(op)) {
    Y[i] = fromI(unaryI(op, toI(w, inDt)), P[3]);
  } else {
    Y[i] = fromF(unaryF(op, toF(w, inDt)), P[3]);
  }
}`,
};

/** P: n, op, inDt, outDt, viewA, viewB (word indices at P[4], P[5]). */
export const BINARY: KernelSource = {
  name: 'binary',
  code: `${PRELUDE}${MATH}
@group(0) @binding(1) var<storage, read> A: array<u32>;
@group(0) @binding(2) var<storage, read> Bv: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<u32>;
${loader('A')}
${loader('Bv')}
fn b2f(c: bool) -> f32 { return select(0.0, 1.0, c); }
fn b2i(c: bool) -> i32 { return select(0, 1, c); }
fn binaryF(op: u32, a: f32, b: f32) -> f32 {
  switch op {
    case ${B.add}: { return a + b; }
    case ${B.sub}: { return a - b; }
    case ${B.mul}: { return a * b; }
    case ${B.div}: { return a / b; }
    case ${B.pow}: { return powF(a, b); }
    case ${B.maximum}: { if (isNan(a) || isNan(b)) { return nan(); } return max(a, b); }
    case ${B.minimum}: { if (isNan(a) || isNan(b)) { return nan(); } return min(a, b); }
    case ${B.eq}: { return b2f(a == b); }
    case ${B.ne}: { return b2f(!(a == b)); }
    case ${B.lt}: { return b2f(a < b); }
    case ${B.le}: { return b2f(a <= b); }
    case ${B.gt}: { return b2f(a > b); }
    case ${B.ge}: { return b2f(a >= b); }
    case ${B.logicalAnd}: { return b2f(nonzero(a) && nonzero(b)); }
    case ${B.logicalOr}: { return b2f(nonzero(a) || nonzero(b)); }
    case ${B.logicalXor}: { return b2f(nonzero(a) != nonzero(b)); }
    default: { return nan(); }
  }
}
fn binaryI(op: u32, a: i32, b: i32) -> i32 {
  switch op {
    case ${B.add}: { return a + b; }
    case ${B.sub}: { return a - b; }
    case ${B.mul}: { return a * b; }
    case ${B.pow}: { return powI(a, b); }
    case ${B.maximum}: { return max(a, b); }
    case ${B.minimum}: { return min(a, b); }
    case ${B.eq}: { return b2i(a == b); }
    case ${B.ne}: { return b2i(a != b); }
    case ${B.lt}: { return b2i(a < b); }
    case ${B.le}: { return b2i(a <= b); }
    case ${B.gt}: { return b2i(a > b); }
    case ${B.ge}: { return b2i(a >= b); }
    case ${B.logicalAnd}: { return b2i(a != 0 && b != 0); }
    case ${B.logicalOr}: { return b2i(a != 0 || b != 0); }
    default: { return b2i((a != 0) != (b != 0)); } // logicalXor
  }
}
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  let op = P[1];
  let inDt = P[2];
  let wa = ld_A(vOff(P[4], i), inDt);
  let wb = ld_Bv(vOff(P[5], i), inDt);
  if (!isF(inDt) && op != ${B.div}) {
    Y[i] = fromI(binaryI(op, toI(wa, inDt), toI(wb, inDt)), P[3]);
  } else {
    Y[i] = fromF(binaryF(op, toF(wa, inDt), toF(wb, inDt)), P[3]);
  }
}`,
};

/** P: n, viewCond, viewA, viewB, dt. a and b already have the output dtype, so words are copied. */
export const WHERE: KernelSource = {
  name: 'where',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> C: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<u32>;
@group(0) @binding(3) var<storage, read> Bv: array<u32>;
@group(0) @binding(4) var<storage, read_write> Y: array<u32>;
${loader('A')}
${loader('Bv')}
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  let c = C[vOff(P[1], i)] != 0u;
  if (c) { Y[i] = ld_A(vOff(P[2], i), P[4]); } else { Y[i] = ld_Bv(vOff(P[3], i), P[4]); }
}`,
};

/**
 * Core's counter-based generator (random.ts): element j uses counters start+2j and start+2j+1 hashed with the key
 * by lowbias32; uniform takes 24 bits, normal is Box–Muller. P: n, kind (0 uniform, 1 normal), key, start, outDt.
 */
export const RANDOM: KernelSource = {
  name: 'random',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
fn hash32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}
${MAIN} {
  let j = tid(g, nw);
  if (j >= P[0]) { return; }
  let key = P[2];
  let c = P[3] + 2u * j;
  let w0 = hash32(hash32(c) ^ key);
  let w1 = hash32(hash32(c + 1u) ^ key);
  var v: f32;
  if (P[1] == 0u) {
    v = f32(w0 >> 8u) * 5.9604644775390625e-8;
  } else {
    // u1 = (w0 + 1) / 2^32 in (0, 1]; split so the +1 is not lost to float32 rounding.
    let u1 = (f32(w0 >> 8u) + (f32(w0 & 0xffu) + 1.0) * 0.00390625) * 5.9604644775390625e-8;
    let u2 = f32(w1) * 2.3283064365386963e-10;
    v = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
  }
  Y[j] = fromF(v, P[4]);
}`,
};
