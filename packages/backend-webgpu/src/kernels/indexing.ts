/**
 * Index kernels: gather, scatter (set / add), cumsum and sort. Indices must lie in [0, size) (negative ones are errors, as in PyTorch and the reference). Out-of-range indices cannot throw from a kernel:
 * they raise the runtime's error word (atomicMax) and the next read() rejects with an ArgumentError, so a bad index
 * never silently produces a value. scatter-add on float32 uses a compare-and-swap loop on the word's bits (WGSL
 * has no float atomics); sums of duplicate indices are therefore exact up to float32 rounding in arrival order.
 */
import type { KernelSource } from '../runtime.js';
import { PRELUDE } from './prelude.js';

const MAIN = '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u)';

/** P: n, dimSize, xDimStride, -, indexView, xView (index's shape, x's strides with 0 on dim, x's offset). */
export const GATHER: KernelSource = {
  name: 'gather',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<u32>;
@group(0) @binding(4) var<storage, read_write> E: array<atomic<u32>>;
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  let k = I[vOff(P[4], i)];
  if (k < 0 || k >= i32(P[1])) {
    atomicMax(&E[0], 1u);
    Y[i] = 0u;
    return;
  }
  Y[i] = X[u32(i32(vOff(P[5], i)) + k * pi(2u))];
}`,
};

/**
 * Y already holds a contiguous copy of base. P: n, dimSize, outDimStride, mode (0 set, 1 add), dt, indexView,
 * outView (index's shape, Y's strides with 0 on dim), srcView.
 */
export const SCATTER: KernelSource = {
  name: 'scatter',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read> S: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> E: array<atomic<u32>>;
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  let k = I[vOff(P[5], i)];
  if (k < 0 || k >= i32(P[1])) {
    atomicMax(&E[0], 2u);
    return;
  }
  let pos = vOff(P[6], i) + u32(k) * P[2];
  let w = S[vOff(P[7], i)];
  if (P[3] == 0u) {
    atomicStore(&Y[pos], w);
  } else if (P[4] == F32) {
    var old = atomicLoad(&Y[pos]);
    loop {
      let r = atomicCompareExchangeWeak(&Y[pos], old, bitcast<u32>(bitcast<f32>(old) + bitcast<f32>(w)));
      if (r.exchanged) { break; }
      old = r.old_value;
    }
  } else if (P[4] == I32) {
    atomicAdd(&Y[pos], w);
  } else {
    atomicOr(&Y[pos], w);
  }
}`,
};

/** One thread per line. P: nLines, len, inDt, outDt, xDimStride, outDimStride, xLineView, outLineView. */
export const CUMSUM: KernelSource = {
  name: 'cumsum',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<u32>;
${MAIN} {
  let l = tid(g, nw);
  if (l >= P[0]) { return; }
  let len = P[1];
  let inDt = P[2];
  let outDt = P[3];
  var xo = i32(vOff(P[6], l));
  var yo = vOff(P[7], l);
  let xs = pi(4u);
  let ys = P[5];
  if (outDt == F32) {
    var acc = 0.0;
    for (var k = 0u; k < len; k++) {
      acc = acc + toF(X[xo], inDt);
      Y[yo] = bitcast<u32>(acc);
      xo += xs;
      yo += ys;
    }
  } else {
    var acc = 0;
    for (var k = 0u; k < len; k++) {
      acc = acc + toI(X[xo], inDt);
      Y[yo] = fromI(acc, outDt);
      xo += xs;
      yo += ys;
    }
  }
}`,
};

/**
 * Stable sort along the last axis by ranking: each thread counts the elements that sort before its own (ties by
 * position), then writes itself at that rank. O(n²) per row but one pass, no barriers, deterministic. NaN sorts as
 * the largest value. P: rows, n, descending, dt, lastStride, rowView.
 */
export const SORT: KernelSource = {
  name: 'sort',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> V: array<u32>;
@group(0) @binding(3) var<storage, read_write> IX: array<i32>;
// -1, 0 or 1 as a compares before, equal to or after b in ascending order.
fn cmp(a: u32, b: u32, dt: u32) -> i32 {
  if (dt == F32) {
    let fa = bitcast<f32>(a);
    let fb = bitcast<f32>(b);
    let na = isNan(fa);
    let nb = isNan(fb);
    if (na || nb) { return i32(na) - i32(nb); }
    return select(select(0, 1, fa > fb), -1, fa < fb);
  }
  let ia = bitcast<i32>(a);
  let ib = bitcast<i32>(b);
  return select(select(0, 1, ia > ib), -1, ia < ib);
}
${MAIN} {
  let t = tid(g, nw);
  let n = P[1];
  if (t >= P[0] * n) { return; }
  let r = t / n;
  let i = t % n;
  let base = i32(vOff(5u, r));
  let ls = pi(4u);
  let desc = P[2] == 1u;
  let dt = P[3];
  let wi = X[base + i32(i) * ls];
  var rank = 0u;
  var p = base;
  for (var j = 0u; j < n; j++) {
    var c = cmp(X[p], wi, dt);
    if (desc) { c = -c; }
    if (c < 0 || (c == 0 && j < i)) { rank++; }
    p += ls;
  }
  V[r * n + rank] = wi;
  IX[r * n + rank] = i32(i);
}`,
};
