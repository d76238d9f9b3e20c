/**
 * scaledDotProductAttention's backward on backends with a fused `attentionBackward` (cpu, webgpu): the fused kernel
 * is what runs when no higher-order graph is built, and its float32 gradients match the reference backend's
 * composed float64 ones — for GQA, bool and float masks, a row with no visible key (bottom-right causal with
 * L > S), and heads split from a [B, L, H, E] projection (non-contiguous q/k/v).
 */
import { describe, expect, it, vi } from 'vitest';
import { backendByName, grad, tensor, type Tensor } from '@tessera/core';
import { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from '../src/index.js';
import { BACKENDS } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';

const withFusedBackward = BACKENDS.filter((b) => backendByName(b).fused.attentionBackward);

/** Deterministic values in [-1.5, 1.5). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround(((s / 2 ** 32) * 2 - 1) * 1.5);
  });
}

interface Case {
  name: string;
  /** [B, H, L, E] of q; k and v are [B, Hkv, S, E] and [B, Hkv, S, Ev]. */
  B: number;
  H: number;
  Hkv: number;
  L: number;
  S: number;
  E: number;
  Ev: number;
  opts: (device: string, dtype: 'float32' | 'float64') => ScaledDotProductAttentionOptions;
  /** Store as [B, L, H, E] and view as [B, H, L, E]. */
  split?: boolean;
}

const cases: Case[] = [
  { name: 'causal, split heads', B: 2, H: 2, Hkv: 2, L: 6, S: 6, E: 8, Ev: 8, opts: () => ({ isCausal: true }), split: true },
  { name: 'GQA with a float mask', B: 1, H: 4, Hkv: 2, L: 5, S: 9, E: 6, Ev: 10, opts: (device, dtype) => ({ enableGqa: true, attnMask: tensor(values(5 * 9, 9), { dtype, device }).reshape([5, 9]) }) },
  { name: 'bool mask', B: 2, H: 1, Hkv: 1, L: 4, S: 70, E: 4, Ev: 3, opts: (device) => ({ attnMask: tensor(values(4 * 70, 5).map((x) => x > -0.5), { device }).reshape([4, 70]) }) },
  { name: 'bottom-right causal, L > S: row 0 sees no key', B: 1, H: 2, Hkv: 2, L: 5, S: 3, E: 4, Ev: 4, opts: () => ({ isCausal: true, causalAlignment: 'bottomRight' }), split: true },
];

function input(c: Case, heads: number, rows: number, cols: number, seed: number, device: string, dtype: 'float32' | 'float64'): Tensor {
  const data = values(c.B * heads * rows * cols, seed);
  if (!c.split) return tensor(data, { dtype, device }).reshape([c.B, heads, rows, cols]).requiresGrad_();
  return tensor(data, { dtype, device }).reshape([c.B, rows, heads, cols]).transpose(1, 2).detach().requiresGrad_();
}

describe.each(withFusedBackward)('fused attention backward (%s) vs the float64 reference', (backend) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const run = (device: string, dtype: 'float32' | 'float64') => {
      const q = input(c, c.H, c.L, c.E, 1, device, dtype);
      const k = input(c, c.Hkv, c.S, c.E, 2, device, dtype);
      const v = input(c, c.Hkv, c.S, c.Ev, 3, device, dtype);
      const out = scaledDotProductAttention(q, k, v, c.opts(device, dtype));
      const up = tensor(values(c.B * c.H * c.L * c.Ev, 4), { dtype, device }).reshape(out.shape);
      return { out, grads: grad(out, [q, k, v], { gradOutputs: up }) };
    };
    const fused = backendByName(backend).fused;
    const spy = vi.spyOn(fused, 'attentionBackward');
    let got;
    try {
      got = run(backend, 'float32');
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    const want = run('reference', 'float64');
    const tol = { atol: 2e-5, rtol: 2e-4 };
    expectClose(await got.out.data(), await want.out.data(), tol, 'output');
    for (const [i, g] of got.grads.entries()) expectClose(await g!.data(), await want.grads[i]!.data(), tol, `grad ${'qkv'[i]}`);
  });
});
