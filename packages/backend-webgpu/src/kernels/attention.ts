/**
 * Scaled-dot-product attention, forward and backward, flash style: scores are recomputed where they are needed and
 * the L×S score matrix never exists in memory.
 *
 * A workgroup owns 64 rows of one head (query rows; key rows for dk/dv), one per thread, and walks the other side
 * in tiles of 32. Per tile, the 64 × 32 dot products (q·k, and dO·v in the backward) are a small matmul whose tile
 * operand is staged through workgroup memory 32 depths at a time, so every staged value serves all 64 threads. Each
 * thread keeps its scores and CW output columns (colBase + c) in registers; the host repeats a dispatch for
 * colBase = 0, CW, … when a head is wider. Each kernel comes in two widths from one template: CW = 64, and CW = 32
 * for narrow heads (≤ 32 columns), which would otherwise spend half the registers, staging and multiply-adds on
 * columns past the head. Loads go through each operand's strides.
 *
 * Parameters, shared by both kernels: B, H, L, S, D, Dv, colBase, hasMask, causal, scale, mode, statsAt, then
 * 4 strides + offset each for q (at 12), k (17), v (22), the output gradient (27, backward only) and mask (32).
 * Causal is top-left: query i sees keys j ≤ i. A row that sees no key (all scores −∞) outputs 0 and gets 0
 * gradients.
 */
import type { KernelSource } from '../runtime.js';
import { PRELUDE } from './prelude.js';

/** Output columns per thread and dispatch: wide kernels, and narrow ones for heads of at most 32 columns. */
export const ATTENTION_COLS = 64;
export const ATTENTION_NARROW_COLS = 32;

/**
 * `body` once per tile element, with TT replaced by the element's index: a loop the compiler leaves rolled indexes
 * the private score arrays dynamically, which software drivers (lavapipe) compile very slowly.
 */
const unroll = (body: string) => Array.from({ length: 32 }, (_, t) => body.replaceAll('TT', `${t}u`)).join('');

const MAIN = `@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nw: vec3u)`;

/**
 * Bindings 1–4, views, and the tile routines for `cw` output columns per thread. `withGrad`: binding 5 is the output
 * gradient (view 3).
 */
const engine = (withGrad: boolean, cw: number) => /* wgsl */ `
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> Kt: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> Mk: array<f32>;
${withGrad ? '@group(0) @binding(5) var<storage, read> GO: array<f32>;' : ''}
const T = 32u;
const KC = 32u;
const CW = ${cw}u;
const ML = 32u;
// The tile being multiplied (T rows × KC depths), and the tile being accumulated (T rows × CW columns).
var<workgroup> Bs: array<f32, 1024>;
var<workgroup> Cs: array<f32, ${32 * cw}>;
// Views 0 q, 1 k, 2 v (or O), 3 dO: offset of the current head, row stride, column stride.
var<private> VW: array<vec3<i32>, 4>;
fn setHead(b: u32, h: u32) {
  for (var v = 0u; v < 4u; v++) {
    let k = 12u + 5u * v;
    VW[v] = vec3<i32>(pi(k + 4u) + i32(b) * pi(k) + i32(h) * pi(k + 1u), pi(k + 2u), pi(k + 3u));
  }
  MW = vec3<i32>(pi(ML + 4u) + i32(b) * pi(ML) + i32(h) * pi(ML + 1u), pi(ML + 2u), pi(ML + 3u));
}
fn ldv(v: u32, r: u32, c: u32) -> f32 {
  let w = VW[v];
  let e = w.x + i32(r) * w.y + i32(c) * w.z;
  switch v {
    case 0u: { return Q[e]; }
    case 1u: { return Kt[e]; }
    case 2u: { return V[e]; }
    default: { return ${withGrad ? 'GO[e]' : '0.0'}; }
  }
}
// The mask of the current head: offset, query stride, key stride (all 0 without a mask, so loads stay in bounds).
var<private> MW: vec3<i32>;
// mask[i, j], or 0 without a mask; loads unconditionally (branches in unrolled tile loops are costly to compile).
fn maskAt(i: u32, j: u32) -> f32 {
  return select(0.0, Mk[MW.x + i32(i) * MW.y + i32(j) * MW.z], P[7] == 1u);
}
// dots[t] = Σ_d A[d]·Bt[d] over d < n: A is row ar of view va (this thread's row, when live), Bt row t0 + t of
// view vb (rows past nB count as 0). Every thread of the workgroup must call it.
fn dotTile(dots: ptr<function, array<f32, 32>>, lid: u32, va: u32, ar: u32, live: bool, vb: u32, t0: u32, nB: u32, n: u32) {
  for (var t = 0u; t < T; t++) { (*dots)[t] = 0.0; }
  for (var d0 = 0u; d0 < n; d0 += KC) {
    workgroupBarrier();
    for (var e = lid; e < T * KC; e += 64u) {
      let t = e / KC;
      let d = d0 + e % KC;
      var x = 0.0;
      if (t0 + t < nB && d < n) { x = ldv(vb, t0 + t, d); }
      Bs[e] = x;
    }
    workgroupBarrier();
    if (live) {
      let m = min(KC, n - d0);
      for (var dd = 0u; dd < m; dd++) {
        let a = ldv(va, ar, d0 + dd);
        for (var t = 0u; t < T; t++) { (*dots)[t] += a * Bs[t * KC + dd]; }
      }
    }
  }
}
// acc[c] += Σ_t w[t]·C[t0 + t][col0 + c] for view vc (rows past nB and columns past nc count as 0). Every thread
// of the workgroup must call it; it does nothing (no barrier either) when no column is left (col0 ≥ nc, uniform).
fn accTile(acc: ptr<function, array<f32, ${cw}>>, w: ptr<function, array<f32, 32>>, lid: u32, vc: u32, t0: u32, nB: u32, col0: u32, nc: u32) {
  if (col0 >= nc) { return; }
  workgroupBarrier();
  for (var e = lid; e < T * CW; e += 64u) {
    let t = e / CW;
    let c = col0 + e % CW;
    var x = 0.0;
    if (t0 + t < nB && c < nc) { x = ldv(vc, t0 + t, c); }
    Cs[e] = x;
  }
  workgroupBarrier();
  for (var t = 0u; t < T; t++) {
    let wt = (*w)[t];
    for (var c = 0u; c < CW; c++) { (*acc)[c] += wt * Cs[t * CW + c]; }
  }
}
`;

/** The workgroup's head (b, h) and block of 64 rows (of n per head); workgroups past the last block return. */
const HEAD = /* wgsl */ `
  let blocks = (n + 63u) / 64u;
  let g = wid.x + wid.y * nw.x;
  if (g >= P[0] * P[1] * blocks) { return; }
  let blk = g % blocks;
  let h = (g / blocks) % P[1];
  let b = g / (blocks * P[1]);
  setHead(b, h);
  let r = blk * 64u + lid;
  let live = r < n;
  let L = P[2];
  let S = P[3];
  let D = P[4];
  let Dv = P[5];
  let col0 = P[6];
  let causal = P[8] == 1u;
  let scale = pf(9u);
`;

/**
 * Scores of query row r against key tile t0 (scaled, masked, −∞ where not visible) into s, folded into the running
 * max m and sum l; s then holds e^(score − m) with m the new max, and corr the factor earlier sums must take.
 */
const ONLINE_SOFTMAX = /* wgsl */ `
    dotTile(&s, lid, 0u, r, live, 1u, t0, S, D);
    var tm = -inf();
    for (var t = 0u; t < T; t++) {
      let j = t0 + t;
      let x = select(-inf(), s[t] * scale + maskAt(rc, min(j, S - 1u)), live && j < myEnd);
      s[t] = x;
      tm = max(tm, x);
    }
    let nm = max(m, tm);
    var corr = 1.0;
    if (nm == -inf()) {
      for (var t = 0u; t < T; t++) { s[t] = 0.0; }
    } else {
      corr = exp(m - nm);
      l = l * corr;
      for (var t = 0u; t < T; t++) {
        let p = exp(s[t] - nm);
        s[t] = p;
        l += p;
      }
      m = nm;
    }
`;

/** Forward: one thread per query row, an online softmax over key tiles, output columns colBase … colBase + cw − 1. */
const forward = (name: string, cw: number): KernelSource => ({
  name,
  // q, k and v are often views of one projection: read-only, they may share a buffer (outputs are allocated apart).
  readOnlyInputs: true,
  code: `${PRELUDE}${engine(false, cw)}
@group(0) @binding(5) var<storage, read_write> O: array<f32>;
${MAIN} {
  let n = P[2];
${HEAD}
  let rc = min(r, L - 1u);
  let kEnd = select(S, min(S, blk * 64u + 64u), causal);
  let myEnd = select(S, min(S, r + 1u), causal);
  var s: array<f32, 32>;
  var acc: array<f32, ${cw}>;
  var m = -inf();
  var l = 0.0;
  for (var t0 = 0u; t0 < kEnd; t0 += T) {
${ONLINE_SOFTMAX}
    if (!(corr == 1.0)) { for (var c = 0u; c < CW; c++) { acc[c] = acc[c] * corr; } }
    accTile(&acc, &s, lid, 2u, t0, S, col0, Dv);
  }
  if (!live) { return; }
  // No visible key: l is 0 and the row is 0, not 0/0.
  let inv = select(1.0 / l, 0.0, l == 0.0);
  let row = (b * P[1] + h) * L + r;
  for (var c = 0u; c < CW; c++) {
    let col = col0 + c;
    if (col < Dv) { O[row * Dv + col] = acc[c] * inv; }
  }
}`,
});

export const ATTENTION = forward('attention', ATTENTION_COLS);
/** For Dv ≤ 32 (one pass of 32 columns). */
export const ATTENTION_NARROW = forward('attention-narrow', ATTENTION_NARROW_COLS);

/**
 * Backward, one pipeline in three modes (P[10]), dispatched in order:
 *  0 stats: per query row i, the max m_i and sum l_i of e^(s_ij − m_i) over visible keys, and Δ_i = dO_i·O_i
 *    (O is bound in V's slot, its layout in V's words). Written at Y[statsAt + 3i …].
 *  1 dq: per query row, dq_i = scale·Σ_j P_ij (dO_i·v_j − Δ_i) k_j with P_ij = e^(s_ij − m_i) / l_i. Into Z.
 *  2 dk/dv: per key row j, dk_j = scale·Σ_i P_ij (dO_i·v_j − Δ_i) q_i and dv_j = Σ_i P_ij dO_i. Into Y (its head;
 *    the stats sit past dk) and Z.
 * The stats ride in dk's buffer because a dispatch may bind only 8 storage buffers (WebGPU's default limit).
 */
const backward = (name: string, cw: number): KernelSource => ({
  name,
  readOnlyInputs: true,
  code: `${PRELUDE}${engine(true, cw)}
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;
@group(0) @binding(7) var<storage, read_write> Z: array<f32>;
// Mode 2: max, sum and Δ of the current tile's 32 queries.
var<workgroup> Ws: array<f32, 96>;
${MAIN} {
  let mode = P[10];
  let n = select(P[2], P[3], mode == 2u);
${HEAD}
  let bh = b * P[1] + h;
  // Rows are queries in modes 0 and 1 (tiles walk keys), keys in mode 2 (tiles walk queries).
  let byKey = mode == 2u;
  let nB = select(S, L, byKey);
  var o0 = 0u;
  var oEnd = nB;
  if (causal) {
    if (byKey) { o0 = blk * 64u; } else { oEnd = min(S, blk * 64u + 64u); }
  }
  // Mode 1 keeps its row's stats; mode 0 builds them.
  var m = -inf();
  var l = 0.0;
  var delta = 0.0;
  if (mode == 1u && live) {
    let st = P[11] + 3u * (bh * L + r);
    m = Y[st];
    l = Y[st + 1u];
    delta = Y[st + 2u];
  }
  let rc = min(r, L - 1u);
  let myEnd = select(S, min(S, r + 1u), causal);
  var s: array<f32, 32>;
  var dp: array<f32, 32>;
  var acc: array<f32, ${cw}>;
  var av: array<f32, ${cw}>;
  for (var t0 = o0; t0 < oEnd; t0 += T) {
    // Mode 2: the stats of the tile's queries, for every thread (the previous tile's readers passed the barriers of
    // an accTile, as one of the two has columns left, and the dot products' barriers publish these).
    if (byKey && lid < T) {
      let st = P[11] + 3u * (bh * L + min(t0 + lid, L - 1u));
      Ws[3u * lid] = Y[st];
      Ws[3u * lid + 1u] = Y[st + 1u];
      Ws[3u * lid + 2u] = Y[st + 2u];
    }
    workgroupBarrier();
    // s: q·k over D; dp: dO·v over Dv (not needed for the stats).
    dotTile(&s, lid, select(0u, 1u, byKey), r, live, select(1u, 0u, byKey), t0, nB, D);
    dotTile(&dp, lid, select(3u, 2u, byKey), r, live, select(2u, 3u, byKey), t0, nB, select(Dv, 0u, mode == 0u));
    if (mode == 0u) {
      var tm = -inf();
      for (var t = 0u; t < T; t++) {
        let j = t0 + t;
        let x = select(-inf(), s[t] * scale + maskAt(rc, min(j, S - 1u)), live && j < myEnd);
        s[t] = x;
        tm = max(tm, x);
      }
      let nm = max(m, tm);
      if (!(nm == -inf())) {
        l = l * exp(m - nm);
        for (var t = 0u; t < T; t++) { l += exp(s[t] - nm); }
        m = nm;
      }
      continue;
    }
    // s ← P_ij, dp ← scale·P_ij (dP_ij − Δ_i) for the pair (query i, key j) of each tile element. Branch-free:
    // out-of-range pairs load clamped addresses and are selected away.
${unroll(`
    {
      let i = select(r, t0 + TT, byKey);
      let j = select(t0 + TT, r, byKey);
      let mi = select(m, Ws[3u * TT], byKey);
      let ok = live && i < L && j < S && !(causal && j > i) && !(mi == -inf());
      let p = select(0.0, exp(s[TT] * scale + maskAt(min(i, L - 1u), min(j, S - 1u)) - mi) / select(l, Ws[3u * TT + 1u], byKey), ok);
      dp[TT] = select(0.0, p * (dp[TT] - select(delta, Ws[3u * TT + 2u], byKey)) * scale, ok);
      s[TT] = p;
    }`)}
    // dq += g·k (mode 1) or dk += g·q (mode 2); dv += p·dO (mode 2).
    accTile(&acc, &dp, lid, select(1u, 0u, byKey), t0, nB, col0, D);
    if (byKey) { accTile(&av, &s, lid, 3u, t0, nB, col0, Dv); }
  }
  if (mode == 0u) {
    if (live) {
      for (var d = 0u; d < Dv; d++) { delta += ldv(3u, r, d) * ldv(2u, r, d); }
      let st = P[11] + 3u * (bh * L + r);
      Y[st] = m;
      Y[st + 1u] = l;
      Y[st + 2u] = delta;
    }
    return;
  }
  if (!live) { return; }
  let row = bh * n + r;
  for (var c = 0u; c < CW; c++) {
    let col = col0 + c;
    if (byKey) {
      if (col < D) { Y[row * D + col] = acc[c]; }
      if (col < Dv) { Z[row * Dv + col] = av[c]; }
    } else if (col < D) {
      Z[row * D + col] = acc[c];
    }
  }
}`,
});

export const ATTENTION_BACKWARD = backward('attention-backward', ATTENTION_COLS);
/** For max(D, Dv) ≤ 32 (one pass of 32 columns per mode). */
export const ATTENTION_BACKWARD_NARROW = backward('attention-backward-narrow', ATTENTION_NARROW_COLS);
