/**
 * Batched matmul in two variants with the same parameters. Operands are read through their strides (row-major,
 * transposed or batch-broadcast alike), so `a.mT` or an expanded batch costs no copy.
 * - MATMUL (register-blocked): each thread accumulates a 4×4 output block in four vec4 registers; an 8×8 workgroup
 *   covers 32×32. No shared memory: on CPU Vulkan drivers (lavapipe, SwiftShader) barriers cost more than the loads
 *   they save. The default on software adapters.
 * - MATMUL_TILED: a 16×16 workgroup stages 64×16 tiles of A and 16×64 tiles of B in workgroup memory, then each
 *   thread accumulates a 4×4 block from them, so every global load is reused 64 times. The default on GPUs.
 */
import type { KernelSource } from '../runtime.js';
import { PRELUDE } from './prelude.js';

/** Output columns × rows per workgroup. */
export const MATMUL_TILE = 32;

/** P: M, K, N, outDt, sam, sak, sbk, sbn, batchBase, batchViewA, batchViewB. Inputs are f32. */
export const MATMUL: KernelSource = {
  name: 'matmul',
  readOnlyInputs: true,
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<u32>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let M = P[0];
  let K = P[1];
  let N = P[2];
  let n0 = g.x * 4u;
  let m0 = g.y * 4u;
  if (m0 >= M || n0 >= N) { return; }
  let batch = g.z + P[8];
  let sam = pi(4u);
  let sak = pi(5u);
  let sbk = pi(6u);
  let sbn = pi(7u);
  // Rows and columns past the edge are clamped for loading; their results are dropped at the store.
  var a0 = i32(vOff(P[9], batch)) + i32(m0) * sam;
  var a1 = a0 + i32(min(m0 + 1u, M - 1u) - m0) * sam;
  var a2 = a0 + i32(min(m0 + 2u, M - 1u) - m0) * sam;
  var a3 = a0 + i32(min(m0 + 3u, M - 1u) - m0) * sam;
  var b0 = i32(vOff(P[10], batch)) + i32(n0) * sbn;
  let c1 = i32(min(n0 + 1u, N - 1u) - n0) * sbn;
  let c2 = i32(min(n0 + 2u, N - 1u) - n0) * sbn;
  let c3 = i32(min(n0 + 3u, N - 1u) - n0) * sbn;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < K; k++) {
    let b = vec4f(B[b0], B[b0 + c1], B[b0 + c2], B[b0 + c3]);
    acc0 += A[a0] * b;
    acc1 += A[a1] * b;
    acc2 += A[a2] * b;
    acc3 += A[a3] * b;
    a0 += sak;
    a1 += sak;
    a2 += sak;
    a3 += sak;
    b0 += sbk;
  }
  let outDt = P[3];
  let rows = min(4u, M - m0);
  let cols = min(4u, N - n0);
  for (var r = 0u; r < rows; r++) {
    var acc = acc0;
    if (r == 1u) { acc = acc1; } else if (r == 2u) { acc = acc2; } else if (r == 3u) { acc = acc3; }
    let o = (batch * M + m0 + r) * N + n0;
    for (var c = 0u; c < cols; c++) { Y[o + c] = fromF(acc[c], outDt); }
  }
}`,
};

/** Output rows and columns per workgroup of the tiled variant. */
export const MATMUL_TILED_TILE = 64;

/** Same parameters as MATMUL; grid [ceil(N/64), ceil(M/64), batches]. */
export const MATMUL_TILED: KernelSource = {
  name: 'matmul_tiled',
  readOnlyInputs: true,
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<u32>;
var<workgroup> As: array<f32, 1024>; // [16 k][64 m]
var<workgroup> Bs: array<f32, 1024>; // [16 k][64 n]
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let M = P[0];
  let K = P[1];
  let N = P[2];
  let batch = wid.z + P[8];
  let sam = pi(4u);
  let sak = pi(5u);
  let sbk = pi(6u);
  let sbn = pi(7u);
  let aBase = i32(vOff(P[9], batch));
  let bBase = i32(vOff(P[10], batch));
  let mTile = wid.y * 64u;
  let nTile = wid.x * 64u;
  let t = lid.y * 16u + lid.x;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    // 256 threads stage 1024 values of each tile: element e = t + 256·j is (k = e / 64, m or n = e % 64).
    for (var j = 0u; j < 4u; j++) {
      let e = t + 256u * j;
      let kk = k0 + e / 64u;
      let mm = mTile + e % 64u;
      let nn = nTile + e % 64u;
      var av = 0.0;
      if (kk < K && mm < M) { av = A[aBase + i32(mm) * sam + i32(kk) * sak]; }
      As[e] = av;
      var bv = 0.0;
      if (kk < K && nn < N) { bv = B[bBase + i32(kk) * sbk + i32(nn) * sbn]; }
      Bs[e] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let b = vec4f(Bs[kk * 64u + lid.x * 4u], Bs[kk * 64u + lid.x * 4u + 1u], Bs[kk * 64u + lid.x * 4u + 2u], Bs[kk * 64u + lid.x * 4u + 3u]);
      let ar = kk * 64u + lid.y * 4u;
      acc0 += As[ar] * b;
      acc1 += As[ar + 1u] * b;
      acc2 += As[ar + 2u] * b;
      acc3 += As[ar + 3u] * b;
    }
    workgroupBarrier();
  }
  let m0 = mTile + lid.y * 4u;
  let n0 = nTile + lid.x * 4u;
  if (m0 >= M || n0 >= N) { return; }
  let outDt = P[3];
  let rows = min(4u, M - m0);
  let cols = min(4u, N - n0);
  for (var r = 0u; r < rows; r++) {
    var acc = acc0;
    if (r == 1u) { acc = acc1; } else if (r == 2u) { acc = acc2; } else if (r == 3u) { acc = acc3; }
    let o = (batch * M + m0 + r) * N + n0;
    for (var c = 0u; c < cols; c++) { Y[o + c] = fromF(acc[c], outDt); }
  }
}`,
};
