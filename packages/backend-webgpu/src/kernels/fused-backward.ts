/**
 * Fused backward kernels, two pipelines: the activation derivative (gelu / geluTanh / silu, picked by a parameter)
 * and the layerNorm / rmsNorm backward (a workgroup of 64 per row, like the forward in fused.ts).
 */
import type { KernelSource } from '../runtime.js';
import { ROW_MAIN, ROW_REDUCE } from './fused.js';
import { MATH, PRELUDE } from './prelude.js';

/** Activation codes of the ACTIVATION_BACKWARD kernel. */
export const ACTIVATION_CODE = { gelu: 0, geluTanh: 1, silu: 2 } as const;

/** P: n, kind, xView, gView (word positions of the view descriptors). DX[i] = G[i]·act'(X[i]). */
export const ACTIVATION_BACKWARD: KernelSource = {
  name: 'activationBackward',
  code: `${PRELUDE}${MATH}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
fn derivative(kind: u32, x: f32) -> f32 {
  if (kind == 0u) {
    // Φ(x) + x·φ(x)
    return 0.5 * (1.0 + erfF(x * 0.70710678118654752)) + x * exp(-0.5 * x * x) * 0.3989422804014327;
  }
  if (kind == 1u) {
    // ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³))
    let t = tanhF(0.7978845608028654 * (x + 0.044715 * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x);
  }
  let s = sigmoidF(x);
  return s * (1.0 + x * (1.0 - s));
}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  DX[i] = G[vOff(P[3], i)] * derivative(P[1], X[vOff(P[2], i)]);
}`,
};

/**
 * dx of layerNorm (center = 1) or rmsNorm (center = 0) over the last axis: rstd·(ĝ − x̂·mean(ĝx̂) − mean(ĝ)), ĝ =
 * gradOut·weight; with wantGx it also writes gradOut·x̂ (contiguous) for the host's weight-gradient reduction.
 * P: rows, n, center, hasWeight, wantGx, eps, xLastStride, gLastStride, wOffset, wStride, xRowView, gRowView.
 */
export const NORM_BACKWARD: KernelSource = {
  name: 'normBackward',
  code: `${PRELUDE}${ROW_REDUCE}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<f32>;
@group(0) @binding(5) var<storage, read_write> GX: array<f32>;
fn ghat(gb: i32, j: u32) -> f32 {
  let g = G[gb + i32(j) * pi(7u)];
  if (P[3] == 1u) { return g * W[pi(8u) + i32(j) * pi(9u)]; }
  return g;
}
${ROW_MAIN} {
  let row = wid.x + wid.y * nw.x;
  let live = row < P[0];
  let n = P[1];
  let xs = pi(6u);
  var xb = 0;
  var gb = 0;
  if (live) { xb = i32(vOff(P[10], row)); gb = i32(vOff(P[11], row)); }
  var mean = 0.0;
  if (P[2] == 1u) {
    var s = 0.0;
    if (live) { for (var j = lid; j < n; j += 64u) { s += X[xb + i32(j) * xs]; } }
    mean = rowSum(lid, s) / f32(n);
  }
  var q = 0.0;
  if (live) { for (var j = lid; j < n; j += 64u) { let d = X[xb + i32(j) * xs] - mean; q += d * d; } }
  let rstd = 1.0 / sqrt(rowSum(lid, q) / f32(n) + pf(5u));
  var sg = 0.0;
  var sgx = 0.0;
  if (live) {
    for (var j = lid; j < n; j += 64u) {
      let gh = ghat(gb, j);
      sg += gh;
      sgx += gh * (X[xb + i32(j) * xs] - mean) * rstd;
    }
  }
  let meanG = select(0.0, rowSum(lid, sg) / f32(n), P[2] == 1u);
  let meanGX = rowSum(lid, sgx) / f32(n);
  if (!live) { return; }
  let o = row * n;
  for (var j = lid; j < n; j += 64u) {
    let xh = (X[xb + i32(j) * xs] - mean) * rstd;
    DX[o + j] = rstd * (ghat(gb, j) - xh * meanGX - meanG);
    if (P[4] == 1u) { GX[o + j] = G[gb + i32(j) * pi(7u)] * xh; }
  }
}`,
};
