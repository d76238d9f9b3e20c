/**
 * Reductions over any set of axes of a strided view. Two modes share one pipeline: a workgroup of 64 threads per
 * output with a shared-memory tree when the reduced extent is long, and one thread per output when it is short (a
 * tree of mostly idle threads costs more than a short serial loop). Integer inputs of sum/prod/max/min stay in i32;
 * arg* compare values as f32 and keep the first occurrence, with NaN counting as the extreme, like the reference.
 */
import type { KernelSource } from '../runtime.js';
import { loader, PRELUDE } from './prelude.js';

export const REDUCE_OPS = { sum: 0, prod: 1, max: 2, min: 3, argmax: 4, argmin: 5 } as const;

/** P: nOut, nInner, op, inDt, outDt, mode (0 tree, 1 serial), outerView, innerView. */
export const REDUCE: KernelSource = {
  name: 'reduce',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<u32>;
${loader('X')}
var<workgroup> sf: array<f32, 64>;
var<workgroup> si: array<i32, 64>;
struct Acc { f: f32, i: i32 }

fn intMode(op: u32, inDt: u32) -> bool { return !isF(inDt) && op < 4u; }
fn initAcc(op: u32, isInt: bool) -> Acc {
  if (op == 1u) { return Acc(1.0, 1); }
  if (op == 2u || op == 4u) { return Acc(-inf(), select(-1, -2147483647 - 1, isInt)); }
  if (op == 3u || op == 5u) { return Acc(inf(), select(-1, 2147483647, isInt)); }
  return Acc(0.0, 0);
}
// Whether candidate (v, j) replaces the best (b, k) of an arg reduction: NaN wins, then the extreme, then the lower index.
fn argBetter(isMax: bool, v: f32, j: i32, b: f32, k: i32) -> bool {
  if (k < 0) { return j >= 0; }
  if (j < 0) { return false; }
  let vn = isNan(v);
  let bn = isNan(b);
  if (vn || bn) { return vn && (!bn || j < k); }
  if (v == b) { return j < k; }
  return select((v < b), (v > b), isMax);
}
fn combine(op: u32, isInt: bool, a: Acc, b: Acc) -> Acc {
  if (op >= 4u) { if (argBetter(op == 4u, b.f, b.i, a.f, a.i)) { return b; } return a; }
  if (isInt) {
    if (op == 0u) { return Acc(0.0, a.i + b.i); }
    if (op == 1u) { return Acc(0.0, a.i * b.i); }
    if (op == 2u) { return Acc(0.0, max(a.i, b.i)); }
    return Acc(0.0, min(a.i, b.i));
  }
  if (op == 0u) { return Acc(a.f + b.f, 0); }
  if (op == 1u) { return Acc(a.f * b.f, 0); }
  if (isNan(a.f) || isNan(b.f)) { return Acc(nan(), 0); }
  if (op == 2u) { return Acc(max(a.f, b.f), 0); }
  return Acc(min(a.f, b.f), 0);
}
fn element(op: u32, isInt: bool, base: u32, j: u32) -> Acc {
  let w = ld_X(base + vOff(P[7], j), P[3]);
  if (isInt) { return Acc(0.0, toI(w, P[3])); }
  return Acc(toF(w, P[3]), i32(j));
}
fn finish(o: u32, op: u32, isInt: bool, a: Acc) {
  if (op >= 4u) { Y[o] = fromI(a.i, P[4]); }
  else if (isInt) { Y[o] = fromI(a.i, P[4]); }
  else { Y[o] = fromF(a.f, P[4]); }
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let nOut = P[0];
  let nInner = P[1];
  let op = P[2];
  let isInt = intMode(op, P[3]);
  if (P[5] == 1u) {
    let o = (wid.x + wid.y * nw.x) * 64u + lid;
    if (o < nOut) {
      let base = vOff(P[6], o);
      var acc = initAcc(op, isInt);
      for (var j = 0u; j < nInner; j++) { acc = combine(op, isInt, acc, element(op, isInt, base, j)); }
      finish(o, op, isInt, acc);
    }
    return;
  }
  let o = wid.x + wid.y * nw.x;
  let live = o < nOut;
  var acc = initAcc(op, isInt);
  if (live) {
    let base = vOff(P[6], o);
    for (var j = lid; j < nInner; j += 64u) { acc = combine(op, isInt, acc, element(op, isInt, base, j)); }
  }
  sf[lid] = acc.f;
  si[lid] = acc.i;
  for (var s = 32u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      let r = combine(op, isInt, Acc(sf[lid], si[lid]), Acc(sf[lid + s], si[lid + s]));
      sf[lid] = r.f;
      si[lid] = r.i;
    }
  }
  if (lid == 0u && live) { finish(o, op, isInt, Acc(sf[0], si[0])); }
}`,
};
