/**
 * Index kernels: gather, scatter (set / add), cumsum and sort. Indices must lie in [0, size) (negative ones are errors, as in PyTorch and the reference). Out-of-range indices cannot throw from a kernel:
 * they raise the runtime's error word (atomicMax) and the next read() rejects with an ArgumentError, so a bad index
 * never silently produces a value. scatter-add on float32 uses a compare-and-swap loop on the word's bits (WGSL
 * has no float atomics); sums of duplicate indices are therefore exact up to float32 rounding in arrival order.
 */
import type { KernelSource } from '../runtime.js';
import { loader, PRELUDE } from './prelude.js';

const MAIN = '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u)';

/** P: n, dimSize, xDimStride, dt, indexView, xView (index's shape, x's strides with 0 on dim, x's offset). */
export const GATHER: KernelSource = {
  name: 'gather',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<u32>;
@group(0) @binding(4) var<storage, read_write> E: array<atomic<u32>>;
${loader('X')}
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  let k = I[vOff(P[4], i)];
  if (k < 0 || k >= i32(P[1])) {
    atomicMax(&E[0], 1u);
    Y[i] = 0u;
    return;
  }
  Y[i] = ld_X(u32(i32(vOff(P[5], i)) + k * pi(2u)), P[3]);
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
${loader('S')}
// float16: replaces (set) or adds to (add) the half at pos inside its word, by compare-and-swap on the whole word.
fn scatterHalf(pos: u32, v: f32, add: bool) {
  let at = pos >> 1u;
  let shift = (pos & 1u) * 16u;
  var old = atomicLoad(&Y[at]);
  loop {
    var x = v;
    if (add) { x = unpack2x16float(old)[pos & 1u] + v; }
    let word = (old & ~(0xffffu << shift)) | (halfBits(x) << shift);
    let r = atomicCompareExchangeWeak(&Y[at], old, word);
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}
${MAIN} {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  let k = I[vOff(P[5], i)];
  if (k < 0 || k >= i32(P[1])) {
    atomicMax(&E[0], 2u);
    return;
  }
  let pos = vOff(P[6], i) + u32(k) * P[2];
  let w = ld_S(vOff(P[7], i), P[4]);
  if (P[4] == F16) {
    scatterHalf(pos, bitcast<f32>(w), P[3] == 1u);
  } else if (P[3] == 0u) {
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
${loader('X')}
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
  if (isF(outDt)) {
    var acc = 0.0;
    for (var k = 0u; k < len; k++) {
      acc = acc + toF(ld_X(u32(xo), inDt), inDt);
      Y[yo] = bitcast<u32>(acc);
      xo += xs;
      yo += ys;
    }
  } else {
    var acc = 0;
    for (var k = 0u; k < len; k++) {
      acc = acc + toI(ld_X(u32(xo), inDt), inDt);
      Y[yo] = fromI(acc, outDt);
      xo += xs;
      yo += ys;
    }
  }
}`,
};

/**
 * One pass of a stable merge sort along the last axis: runs of `width` sorted elements are merged in pairs. Each
 * thread owns one element and writes it at (its place in its own run) + (how many elements of the partner run sort
 * before it), found by binary search; on ties the left run goes first, which keeps the sort stable. The host runs
 * passes of width 1, 2, 4, … (O(n log² n) work per row), ping-ponging between two buffers; the first pass reads the
 * strided input (bound as SV; SI is then unused) and numbers the elements. NaN sorts as the largest value.
 * P: rows, n, descending, dt, lastStride, width, first, rowView. float16 takes the variant that writes DV as halves.
 */
export const SORT: KernelSource = {
  name: 'sort',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> SV: array<u32>;
@group(0) @binding(2) var<storage, read> SI: array<i32>;
@group(0) @binding(3) var<storage, read_write> DV: array<u32>;
@group(0) @binding(4) var<storage, read_write> DI: array<i32>;
${loader('SV')}
// -1, 0 or 1 as a compares before, equal to or after b in ascending order (float16 is loaded as f32 words).
fn cmp(a: u32, b: u32, dt: u32) -> i32 {
  if (isF(dt)) {
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
// Whether a sorts before b in the requested order (or ties with it, when orEqual).
fn before(a: u32, b: u32, orEqual: bool) -> bool {
  var c = cmp(a, b, P[3]);
  if (P[2] == 1u) { c = -c; }
  return c < 0 || (orEqual && c == 0);
}
// Element k of row r: from the strided input (row at base) on the first pass, else from the previous pass.
fn load(r: u32, k: u32, base: i32) -> u32 {
  if (P[6] == 1u) { return ld_SV(u32(base + i32(k) * pi(4u)), P[3]); }
  return ld_SV(r * P[1] + k, P[3]);
}
${MAIN} {
  let t = tid(g, nw);
  let n = P[1];
  if (t >= P[0] * n) { return; }
  let r = t / n;
  let i = t % n;
  let w = P[5];
  var base = 0;
  var ix = 0;
  if (P[6] == 1u) {
    base = i32(vOff(7u, r));
    ix = i32(i);
  } else {
    ix = SI[t];
  }
  let x = load(r, i, base);
  let run = i / w;
  let partner = (run ^ 1u) * w;
  var ahead = 0u;
  if (partner < n) {
    // The left run's elements go before equal ones of the right run.
    let orEqual = (run & 1u) == 1u;
    var lo = 0u;
    var hi = min(w, n - partner);
    while (lo < hi) {
      let mid = (lo + hi) / 2u;
      if (before(load(r, partner + mid, base), x, orEqual)) { lo = mid + 1u; } else { hi = mid; }
    }
    ahead = lo;
  }
  let pos = r * n + (run & ~1u) * w + (i - run * w) + ahead;
  DV[pos] = x;
  DI[pos] = ix;
}`,
};
