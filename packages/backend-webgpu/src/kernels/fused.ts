/**
 * Fused kernels: softmax / logSoftmax and layerNorm / rmsNorm, a workgroup of 64 per row with shared-memory
 * reductions. Attention is in attention.ts.
 */
import type { KernelSource } from '../runtime.js';
import { PRELUDE } from './prelude.js';

export const ROW_MAIN = `@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u)`;

/** Tree reductions over the 64 lanes of a workgroup; every lane gets the result. */
export const ROW_REDUCE = /* wgsl */ `
var<workgroup> red: array<f32, 64>;
fn rowSum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  for (var s = 32u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
  }
  workgroupBarrier();
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn rowMax(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  for (var s = 32u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      let a = red[lid];
      let b = red[lid + s];
      red[lid] = select(max(a, b), a + b, isNan(a) || isNan(b));
    }
  }
  workgroupBarrier();
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/** P: rows, n, log, lastStride, rowView. Rows whose max is -inf are shifted by 0, like core's composition. */
export const SOFTMAX: KernelSource = {
  name: 'softmax',
  code: `${PRELUDE}${ROW_REDUCE}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${ROW_MAIN} {
  let row = wid.x + wid.y * nw.x;
  let live = row < P[0];
  let n = P[1];
  let ls = pi(3u);
  var base = 0;
  if (live) { base = i32(vOff(4u, row)); }
  var m = -inf();
  if (live) { for (var j = lid; j < n; j += 64u) { let v = X[base + i32(j) * ls]; m = select(max(m, v), v + m, isNan(v) || isNan(m)); } }
  m = rowMax(lid, m);
  let shift = select(m, 0.0, m == -inf());
  var s = 0.0;
  if (live) { for (var j = lid; j < n; j += 64u) { s += exp(X[base + i32(j) * ls] - shift); } }
  s = rowSum(lid, s);
  if (!live) { return; }
  let o = row * n;
  if (P[2] == 1u) {
    let ls2 = log(s);
    for (var j = lid; j < n; j += 64u) { Y[o + j] = X[base + i32(j) * ls] - shift - ls2; }
  } else {
    for (var j = lid; j < n; j += 64u) { Y[o + j] = exp(X[base + i32(j) * ls] - shift) / s; }
  }
}`,
};

/**
 * layerNorm (center = 1) or rmsNorm (center = 0) over the last axis; mean and variance in two passes for accuracy.
 * P: rows, n, center, hasWeight, hasBias, eps, lastStride, wOffset, wStride, bOffset, bStride, rowView.
 */
export const NORM: KernelSource = {
  name: 'norm',
  code: `${PRELUDE}${ROW_REDUCE}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read> Bs: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
${ROW_MAIN} {
  let row = wid.x + wid.y * nw.x;
  let live = row < P[0];
  let n = P[1];
  let ls = pi(6u);
  var base = 0;
  if (live) { base = i32(vOff(11u, row)); }
  var mean = 0.0;
  if (P[2] == 1u) {
    var s = 0.0;
    if (live) { for (var j = lid; j < n; j += 64u) { s += X[base + i32(j) * ls]; } }
    mean = rowSum(lid, s) / f32(n);
  }
  var q = 0.0;
  if (live) { for (var j = lid; j < n; j += 64u) { let d = X[base + i32(j) * ls] - mean; q += d * d; } }
  let rstd = 1.0 / sqrt(rowSum(lid, q) / f32(n) + pf(5u));
  if (!live) { return; }
  let o = row * n;
  for (var j = lid; j < n; j += 64u) {
    var y = (X[base + i32(j) * ls] - mean) * rstd;
    if (P[3] == 1u) { y = y * W[pi(7u) + i32(j) * pi(8u)]; }
    if (P[4] == 1u) { y = y + Bs[pi(9u) + i32(j) * pi(10u)]; }
    Y[o + j] = y;
  }
}`,
};
