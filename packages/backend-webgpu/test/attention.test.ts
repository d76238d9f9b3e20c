/**
 * The fused attention forward and backward (flash style: scores recomputed, never stored) against the reference
 * backend's composed output and gradients in float64, at float32 tolerances: causal and full, L ≠ S, bool and float
 * masks, a fully masked row, strided q/k/v/dO, narrow heads (≤ 32 columns, the 32-column kernels) and wide ones (the
 * 64-column kernels, one pass or several), and a long S whose L×S scores would show in the GPU memory the backward
 * allocates.
 */
import { describe, expect, it, vi } from 'vitest';
import { grad, tensor, type Tensor, type View } from '@tessera/core';
import { expectNear, gpu, readBuf } from './helpers.js';

interface Case {
  name: string;
  B: number;
  H: number;
  L: number;
  S: number;
  D: number;
  Dv: number;
  causal?: boolean;
  /** 'bool': keys allowed at random (as a 0/−∞ mask), 'float': random additive values; both [B, 1, L, S]. */
  mask?: 'bool' | 'float';
  /** Query rows (of every head) with no allowed key (needs a mask). */
  deadRows?: number[];
  /** q, k, v and dO stored as [B, L, H, D] and viewed as [B, H, L, D], like heads split from a projection. */
  transposed?: boolean;
}

/** Deterministic values in [-amp, amp). */
function values(n: number, seed: number, amp = 1.5): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround(((s / 2 ** 32) * 2 - 1) * amp);
  });
}

function maskValues(c: Case): number[] | null {
  if (!c.mask) return null;
  const n = c.B * c.L * c.S;
  const raw = values(n, 77, 1);
  return raw.map((x, i) => {
    const row = Math.floor(i / c.S) % c.L;
    if (c.deadRows?.includes(row)) return -Infinity;
    if (c.mask === 'bool') return x > -0.4 ? 0 : -Infinity;
    return Math.fround(x * 2);
  });
}

/** A logical [B, H, R, C] tensor on `device`, contiguous or as a transposed view of [B, R, H, C] storage. */
function view4(data: number[], c: Case, R: number, C: number, device: string, transposed: boolean): Tensor {
  const dtype = device === 'reference' ? 'float64' : 'float32';
  if (!transposed) return tensor(data, { dtype, device }).reshape([c.B, c.H, R, C]);
  // Storage order [B, R, H, C]: permute the logical data into it, then view it back.
  const phys = new Array<number>(data.length);
  for (let b = 0; b < c.B; b++)
    for (let h = 0; h < c.H; h++)
      for (let r = 0; r < R; r++)
        for (let x = 0; x < C; x++) phys[((b * R + r) * c.H + h) * C + x] = data[((b * c.H + h) * R + r) * C + x]!;
  return tensor(phys, { dtype, device }).reshape([c.B, R, c.H, C]).transpose(1, 2);
}

/** out, then dq, dk, dv of softmax(q·kᵀ·scale + mask)·v on the reference backend in float64; dead rows give 0. */
async function referenceGrads(c: Case, q: number[], k: number[], v: number[], g: number[], mask: number[] | null, scale: number) {
  const [tq, tk, tv] = [view4(q, c, c.L, c.D, 'reference', false), view4(k, c, c.S, c.D, 'reference', false), view4(v, c, c.S, c.Dv, 'reference', false)];
  for (const t of [tq, tk, tv]) t.requiresGrad_();
  let s = tq.matmul(tk.mT).mul(scale);
  if (c.causal) {
    const tri = Array.from({ length: c.L * c.S }, (_, i) => (i % c.S <= Math.floor(i / c.S) ? 0 : -Infinity));
    s = s.add(tensor(tri, { dtype: 'float64', device: 'reference' }).reshape([c.L, c.S]));
  }
  if (mask) s = s.add(tensor(mask, { dtype: 'float64', device: 'reference' }).reshape([c.B, 1, c.L, c.S]));
  const dead = s.amax(-1, true).eq(-Infinity);
  const p = s.maskedFill(dead, 0).softmax(-1).maskedFill(dead, 0);
  const out = p.matmul(tv);
  const grads = grad(out, [tq, tk, tv], { gradOutputs: view4(g, c, c.L, c.Dv, 'reference', false) });
  return Promise.all([out, ...grads].map(async (t) => Array.from(await t!.data())));
}

/** Runs the webgpu forward and fused backward; returns out and the gradients, and the GPU bytes the backward allocated. */
async function webgpuGrads(c: Case, q: number[], k: number[], v: number[], g: number[], mask: number[] | null, scale: number) {
  const tr = !!c.transposed;
  const [tq, tk, tv, tg] = [view4(q, c, c.L, c.D, 'webgpu', tr), view4(k, c, c.S, c.D, 'webgpu', tr), view4(v, c, c.S, c.Dv, 'webgpu', tr), view4(g, c, c.L, c.Dv, 'webgpu', tr)];
  const tm = mask ? tensor(mask, { dtype: 'float32', device: 'webgpu' }).reshape([c.B, 1, c.L, c.S]) : null;
  const lay = (t: Tensor): View => t.layout();
  // The attention kernels dispatched, by name (narrow or wide).
  const kernels = new Set<string>();
  const dispatch = gpu.rt.dispatch.bind(gpu.rt);
  const spyDispatch = vi.spyOn(gpu.rt, 'dispatch').mockImplementation((kernel, ...rest) => {
    if (kernel.name.startsWith('attention')) kernels.add(kernel.name);
    dispatch(kernel, ...rest);
  });
  const outBuf = gpu.fused.attention!(lay(tq), lay(tk), lay(tv), tm ? lay(tm) : null, !!c.causal, scale);
  const contiguous = (shape: number[]) => [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const oShape = [c.B, c.H, c.L, c.Dv];
  const out: View = { buffer: outBuf, shape: oShape, strides: contiguous(oShape), offset: 0, dtype: 'float32' };
  const before = gpu.rt.liveBytes;
  let peak = before;
  const alloc = gpu.rt.alloc.bind(gpu.rt);
  const spy = vi.spyOn(gpu.rt, 'alloc').mockImplementation((bytes: number) => {
    const b = alloc(bytes);
    peak = Math.max(peak, gpu.rt.liveBytes);
    return b;
  });
  let r: ReturnType<NonNullable<typeof gpu.fused.attentionBackward>>;
  try {
    r = gpu.fused.attentionBackward!(lay(tq), lay(tk), lay(tv), tm ? lay(tm) : null, !!c.causal, scale, out, lay(tg));
  } finally {
    spy.mockRestore();
    spyDispatch.mockRestore();
  }
  const shapes = [oShape, [c.B, c.H, c.L, c.D], [c.B, c.H, c.S, c.D], [c.B, c.H, c.S, c.Dv]];
  const got = await Promise.all([outBuf, r.dq, r.dk, r.dv].map(async (b, i) => Array.from(await readBuf(gpu, b, shapes[i]!))));
  for (const b of [outBuf, r.dq, r.dk, r.dv]) gpu.free(b);
  for (const t of [tq, tk, tv, tg, tm]) t?.dispose();
  return { got, allocated: peak - before, kernels: [...kernels].sort() };
}

/** float32 against float64: within 1e-5 of each result's largest magnitude, or 1e-4 relative. */
function expectGrads(got: number[][], want: number[][]): void {
  ['out', 'dq', 'dk', 'dv'].forEach((what, i) => {
    const top = want[i]!.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expectNear(got[i]!, want[i]!, { atol: 1e-5 * Math.max(top, 1e-3), rtol: 1e-4 }, what);
  });
}

const cases: Case[] = [
  { name: 'full, L ≠ S, D = Dv = 64', B: 2, H: 2, L: 5, S: 7, D: 64, Dv: 64 },
  { name: 'causal, L > S', B: 1, H: 2, L: 9, S: 6, D: 64, Dv: 64, causal: true },
  { name: 'causal, L < S, keys across 64-chunks', B: 1, H: 1, L: 70, S: 150, D: 16, Dv: 8, causal: true },
  { name: 'bool mask with fully masked rows, D ≠ Dv', B: 2, H: 2, L: 6, S: 67, D: 16, Dv: 24, mask: 'bool', deadRows: [0, 4] },
  { name: 'float mask, D < Dv', B: 2, H: 1, L: 66, S: 9, D: 8, Dv: 40, mask: 'float' },
  { name: 'transposed q/k/v/dO views ([B, L, H, D] storage), causal', B: 2, H: 3, L: 7, S: 7, D: 32, Dv: 32, causal: true, transposed: true },
  { name: 'transposed views with a float mask and a dead row', B: 1, H: 2, L: 5, S: 11, D: 12, Dv: 20, mask: 'float', deadRows: [2], transposed: true },
  { name: 'narrow: D = Dv = 32, causal, L = S > 64 (several row blocks)', B: 1, H: 2, L: 70, S: 70, D: 32, Dv: 32, causal: true },
  { name: 'narrow: D = Dv = 32, float mask', B: 2, H: 2, L: 9, S: 40, D: 32, Dv: 32, mask: 'float' },
  { name: 'wide: D = Dv = 64, bool mask with a fully masked row', B: 1, H: 2, L: 6, S: 37, D: 64, Dv: 64, mask: 'bool', deadRows: [3] },
  { name: 'wide: D = Dv = 80 (two column passes), causal', B: 1, H: 2, L: 9, S: 9, D: 80, Dv: 80, causal: true },
  { name: 'wide: D = Dv = 80 (two column passes), float mask', B: 2, H: 1, L: 5, S: 33, D: 80, Dv: 80, mask: 'float' },
  { name: 'D = 40, Dv = 24: narrow forward, wide backward, causal', B: 1, H: 2, L: 7, S: 8, D: 40, Dv: 24, causal: true },
  { name: 'D = Dv = 256 (several column passes)', B: 1, H: 1, L: 3, S: 5, D: 256, Dv: 256 },
  { name: 'D = 300, Dv = 520 (several column passes)', B: 1, H: 1, L: 3, S: 4, D: 300, Dv: 520, causal: true },
];

describe('attention backward (fused) against the float64 reference', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const scale = 1 / Math.sqrt(c.D);
    const q = values(c.B * c.H * c.L * c.D, 1);
    const k = values(c.B * c.H * c.S * c.D, 2);
    const v = values(c.B * c.H * c.S * c.Dv, 3);
    const g = values(c.B * c.H * c.L * c.Dv, 4);
    const mask = maskValues(c);
    const want = await referenceGrads(c, q, k, v, g, mask, scale);
    const { got, kernels } = await webgpuGrads(c, q, k, v, g, mask, scale);
    expectGrads(got, want);
    // Heads of at most 32 columns take the 32-column kernels; wider ones the 64-column kernels.
    expect(kernels).toEqual([c.Dv <= 32 ? 'attention-narrow' : 'attention', Math.max(c.D, c.Dv) <= 32 ? 'attention-backward-narrow' : 'attention-backward'].sort());
    if (c.deadRows) {
      // A row that sees no key gets exactly zero dq.
      for (let bh = 0; bh < c.B * c.H; bh++)
        for (const row of c.deadRows) expect(got[1]!.slice((bh * c.L + row) * c.D, (bh * c.L + row + 1) * c.D).every((x) => x === 0)).toBe(true);
    }
  });

  it('S = 1024: the backward allocates its outputs and O(L) row stats, never an L×S buffer', async () => {
    const c: Case = { name: 'long', B: 1, H: 2, L: 256, S: 1024, D: 32, Dv: 32, mask: 'float' };
    const scale = 1 / Math.sqrt(c.D);
    const q = values(c.B * c.H * c.L * c.D, 5);
    const k = values(c.B * c.H * c.S * c.D, 6);
    const v = values(c.B * c.H * c.S * c.Dv, 7);
    const g = values(c.B * c.H * c.L * c.Dv, 8);
    const mask = maskValues(c);
    const want = await referenceGrads(c, q, k, v, g, mask, scale);
    const { got, allocated } = await webgpuGrads(c, q, k, v, g, mask, scale);
    expectGrads(got, want);
    const rows = c.B * c.H * c.L;
    const outputs = 4 * (rows * c.D + c.B * c.H * c.S * (c.D + c.Dv));
    const scores = 4 * rows * c.S;
    // The pool rounds sizes up by at most a quarter; 3 floats of stats per query row.
    expect(allocated).toBeLessThanOrEqual(1.25 * (outputs + 12 * rows));
    expect(allocated).toBeLessThan(scores / 2);
  });
});
