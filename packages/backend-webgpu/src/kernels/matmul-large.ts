/**
 * The matmul for large products on GPUs: a 16×16 workgroup computes a 128×128 output tile, each thread an 8×8 block
 * (rows ty·4…+3 and 64+ty·4…+3, columns likewise from tx) held in sixteen vec4 registers. K advances 16 at a time
 * through A and B tiles staged in double-buffered workgroup memory as vec4 columns; the next tile's global values
 * are fetched into registers while the current one is multiplied, so global latency hides behind arithmetic.
 *
 * Operands are read through their strides like the other variants. Each tile is loaded along whichever axis is
 * contiguous (a uniform flag picks the thread mapping), so row-major and transposed operands both load coalesced.
 * Two halves of 2 × 16 × 32 vec4 fill the 32 KiB of workgroup memory WebGPU promises (no room to pad rows; the
 * transposing stores meet 4-way bank conflicts, once per 16 k-steps of 64 multiply-adds).
 *
 * The source is generated: the 16 × 64 multiply-adds of a staged tile are written out, so every accumulator stays
 * in a register and every workgroup-memory offset is a constant, whatever the driver's unrolling does.
 */
import type { KernelSource } from '../runtime.js';
import { PRELUDE } from './prelude.js';

/** Output rows and columns per workgroup. */
export const MATMUL_LARGE_TILE = 128;
/** K depth of a staged tile, and the vec4 row length in workgroup memory. */
const BK = 16;
const ROW = 32;
/** Four-value slots of each operand a thread stages per tile: 128·16 / (256 · 4). */
const SLOTS = 2;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Operand {
  x: 'a' | 'b';
  buf: 'A' | 'B';
  outer: string;
  sOuter: string;
  sK: string;
  limit: string;
}
const OPERANDS: Operand[] = [
  { x: 'a', buf: 'A', outer: 'mTile', sOuter: 'sam', sK: 'sak', limit: 'M' },
  { x: 'b', buf: 'B', outer: 'nTile', sOuter: 'sbn', sK: 'sbk', limit: 'N' },
];

/**
 * Fetches this thread's slots of the next tile into registers. A slot is four values along the operand's
 * contiguous axis: along K ((outer i, k0 + 4q…+3), when K is contiguous) or along the outer axis ((outer 4q…+3,
 * k0 + kk)). Inside the matrix and 16-byte aligned it is one vec4 load; at the edges, four bounded scalar loads.
 */
function loadTile({ x, buf, outer, sOuter, sK, limit }: Operand, k0 = 'k0'): string {
  return range(SLOTS)
    .map((s) => {
      const e = `(t + ${256 * s}u)`;
      const lane = ['x', 'y', 'z', 'w'];
      const scalar = range(4)
        .map((c) => `if (gi + di * ${c}u < ${limit} && gk + dk * ${c}u < K) { v.${lane[c]} = ${buf}[at + ${c} * step]; }`)
        .join('\n          ');
      return `
    {
      var gi = ${outer} + (${e} % 32u) * 4u;
      var gk = ${k0} + ${e} / 32u;
      if (${x}KFast) { gi = ${outer} + ${e} / 4u; gk = ${k0} + (${e} % 4u) * 4u; }
      let at = ${x}Base + i32(gi) * ${sOuter} + i32(gk) * ${sK};
      if (${x}Vec && ${outer} + 128u <= ${limit} && ${k0} + 16u <= K) {
        ${x}r${s} = ${buf}4[u32(at) / 4u];
      } else {
        let step = select(${sOuter}, ${sK}, ${x}KFast);
        let di = select(1u, 0u, ${x}KFast);
        let dk = 1u - di;
        var v = vec4f(0.0);
        ${scalar}
        ${x}r${s} = v;
      }
    }`;
    })
    .join('');
}

/** Writes the fetched slots into one half (`half`: its first vec4) of the double-buffered workgroup tile. */
function storeTile({ x }: Operand, half: string): string {
  const tile = x === 'a' ? 'As' : 'Bs';
  return range(SLOTS)
    .map((s) => {
      const e = `(t + ${256 * s}u)`;
      const scatter = ['x', 'y', 'z', 'w'].map((c, i) => `${tile}[${half} + (q * 4u + ${i}u) * ${ROW}u + o / 4u][o % 4u] = ${x}r${s}.${c};`).join(' ');
      return `
    if (${x}KFast) { let o = ${e} / 4u; let q = ${e} % 4u; ${scatter} }
    else { ${tile}[${half} + (${e} / 32u) * ${ROW}u + ${e} % 32u] = ${x}r${s}; }`;
    })
    .join('');
}

/**
 * The 16 k-steps of one staged tile, written out (constant offsets; no loop for the driver to keep or unroll):
 * acc{r}{h} is row r (0–7) of the thread's block, column half h (0: tx·4…, 1: 64+tx·4…).
 */
function multiplyTile(): string {
  const lines = [`let aT = cur + lid.y;`, `let bT = cur + lid.x;`];
  for (const kk of range(BK)) {
    const at = kk * ROW;
    lines.push(
      `{ let a0 = As[aT + ${at}u]; let a1 = As[aT + ${at + 16}u]; let b0 = Bs[bT + ${at}u]; let b1 = Bs[bT + ${at + 16}u];`,
    );
    for (const r of range(8)) {
      const a = `a${r >> 2}[${r & 3}]`;
      lines.push(`  acc${r}0 += ${a} * b0; acc${r}1 += ${a} * b1;`);
    }
    lines.push('}');
  }
  return lines.map((l) => `    ${l}`).join('\n');
}

/**
 * Writes the 8×8 block with static component indices only: a dynamic index into an accumulator makes some drivers
 * (NVIDIA's, from SPIR-V) move every accumulator to local memory, which costs most of the speed.
 */
function storeOutput(): string {
  return range(8)
    .flatMap((r) =>
      [0, 1].map((h) => {
        const row = `mTile + ${r >> 2 ? '64u + ' : ''}lid.y * 4u + ${r & 3}u`;
        const col = `nTile + ${h ? '64u + ' : ''}lid.x * 4u`;
        const writes = ['x', 'y', 'z', 'w'].map((c, i) => `if (n + ${i}u < N) { Y[o + ${i}u] = fromF(v.${c}, outDt); }`).join(' ');
        return `
  { let m = ${row}; let n = ${col}; let v = acc${r}${h};
    if (m < M) { let o = (batch * M + m) * N + n; ${writes} } }`;
      }),
    )
    .join('');
}

/**
 * Same parameters as MATMUL (M, K, N, outDt, sam, sak, sbk, sbn, batchBase, batch views) plus P[11] = 1 when the
 * vec4 bindings A4/B4 (the same buffers as A/B) may be used; grid [⌈N/128⌉, ⌈M/128⌉, batches].
 */
export const MATMUL_LARGE: KernelSource = {
  name: 'matmul_large',
  readOnlyInputs: true,
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<u32>;
@group(0) @binding(4) var<storage, read> A4: array<vec4f>;
@group(0) @binding(5) var<storage, read> B4: array<vec4f>;
var<workgroup> As: array<vec4f, ${2 * BK * ROW}>; // two halves of [k][m / 4]
var<workgroup> Bs: array<vec4f, ${2 * BK * ROW}>; // two halves of [k][n / 4]
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let M = P[0];
  let K = P[1];
  let N = P[2];
  let outDt = P[3];
  let batch = wid.z + P[8];
  let sam = pi(4u);
  let sak = pi(5u);
  let sbk = pi(6u);
  let sbn = pi(7u);
  let aKFast = sak == 1;
  let bKFast = sbk == 1 && sbn != 1;
  let aBase = i32(vOff(P[9], batch));
  let bBase = i32(vOff(P[10], batch));
  // vec4 loads: allowed by the host (P[11]; not for float16 operands), the slot axis contiguous, starts aligned.
  let aVec = P[11] == 1u && aBase % 4 == 0 && select(sam == 1 && sak % 4 == 0, sam % 4 == 0, aKFast);
  let bVec = P[11] == 1u && bBase % 4 == 0 && select(sbn == 1 && sbk % 4 == 0, sbn % 4 == 0, bKFast);
  // Launch order is row-major over output tiles (a band-swizzled order for L2 reuse measured slower on an H100).
  let mTile = wid.y * 128u;
  let nTile = wid.x * 128u;
  let t = lid.y * 16u + lid.x;
${range(8)
  .flatMap((r) => [0, 1].map((h) => `  var acc${r}${h} = vec4f(0.0);`))
  .join('\n')}
${['a', 'b']
  .flatMap((x) => range(SLOTS).map((s) => `  var ${x}r${s} = vec4f(0.0);`))
  .join('\n')}
  // Double-buffered: while one half of the tile memory is multiplied, the next K slice goes into the other half,
  // so each step needs one barrier.
  var kc = 0u;
  var cur = 0u;
  ${OPERANDS.map((o) => loadTile(o, 'kc')).join('')}
  ${OPERANDS.map((o) => storeTile(o, '0u')).join('')}
  workgroupBarrier();
  loop {
    if (kc >= K) { break; }
    let kn = kc + ${BK}u;
    if (kn < K) {
      ${OPERANDS.map((o) => loadTile(o, 'kn')).join('')}
    }
${multiplyTile()}
    if (kn < K) {
      ${OPERANDS.map((o) => storeTile(o, `${BK * ROW}u - cur`)).join('')}
    }
    workgroupBarrier();
    cur = ${BK * ROW}u - cur;
    kc = kn;
  }
${storeOutput()}
}`,
};
