import * as T from '@tessera/core';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { cpu, expectClose, randInt, randomData, rng } from './helpers.js';

type Float = 'float32' | 'float64';

/** The composed attention on the reference backend: softmax(scale·qkᵀ + mask) v, fully masked rows → 0. */
function composed(q: T.Tensor, k: T.Tensor, v: T.Tensor, mask: T.Tensor | null, causal: boolean, scale: number): T.Tensor {
  const [L, S] = [q.shape[2]!, k.shape[2]!];
  let s = q.matmul(k.mT).mul(scale);
  if (mask) s = s.add(mask);
  if (causal) s = s.add(T.tensor(Array.from({ length: L * S }, (_, n) => (n % S > Math.floor(n / S) ? -Infinity : 0)), { dtype: q.dtype, device: 'reference' }).reshape([L, S]));
  const dead = s.amax(-1, true).eq(-Infinity);
  const p = s.maskedFill(dead, 0).softmax(-1).maskedFill(dead, 0);
  return p.matmul(v);
}

function setup(seed: number, dtype: Float) {
  const r = rng(seed);
  const [B, H, L, S] = [randInt(r, 1, 2), randInt(r, 1, 3), randInt(r, 1, 9), randInt(r, 1, 11)];
  const [D, Dv] = [randInt(r, 1, 19), r() < 0.5 ? randInt(r, 1, 13) : 0];
  const dv = Dv || D;
  const rand = (shape: number[], lo = -2, hi = 2) => {
    const data = Array.from(randomData(r, 'float64', shape.reduce((a, b) => a * b, 1), lo, hi));
    return (device: string) => T.tensor(data, { dtype, device }).reshape(shape);
  };
  // Masks: none, a [L, S]-broadcast one, or a per-head one; some entries −inf (occasionally whole rows).
  let mask: ((device: string) => T.Tensor) | null = null;
  const kind = randInt(r, 0, 2);
  if (kind > 0) {
    const shape = kind === 1 ? [1, 1, L, S] : [B, H, 1, S];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from(randomData(r, 'float64', n, -1, 1)).map((x) => (r() < 0.2 ? -Infinity : x));
    if (kind === 1 && r() < 0.5) for (let j = 0; j < S; j++) data[j] = -Infinity;
    mask = (device) => T.tensor(data, { dtype, device }).reshape(shape);
  }
  return {
    q: rand([B, H, L, D]), k: rand([B, H, S, D]), v: rand([B, H, S, dv]), go: rand([B, H, L, dv]),
    mask, causal: r() < 0.5, scale: 0.3 + r(), shape: `B${B} H${H} L${L} S${S} D${D} Dv${dv}`,
  };
}

describe('cpu fused attention matches the composed reference', () => {
  it.each(['float32', 'float64'] as Float[])('forward and backward (%s)', (dtype) => {
    const tol = dtype === 'float32' ? 2e-5 : 1e-12;
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const c = setup(seed, dtype);
        const what = `${c.shape} causal ${c.causal} mask ${!!c.mask}`;
        // Reference: composed ops with autograd.
        const [q, k, v] = [c.q('reference'), c.k('reference'), c.v('reference')].map((t) => t.requiresGrad_()) as [T.Tensor, T.Tensor, T.Tensor];
        const m = c.mask?.('reference') ?? null;
        const out = composed(q, k, v, m, c.causal, c.scale);
        const [gq, gk, gv] = T.grad(out, [q, k, v], { gradOutputs: c.go('reference') });
        // Fused cpu kernels, fed a transposed (non-contiguous) k to exercise the copy path.
        const [qc, kc, vc, goc] = [c.q('cpu'), c.k('cpu').mT.contiguous().mT, c.v('cpu'), c.go('cpu')];
        const mc = c.mask?.('cpu') ?? null;
        const lay = (t: T.Tensor) => t.layout('attention');
        const fused = cpu.fused;
        const ob = fused.attention!(lay(qc), lay(kc), lay(vc), mc && lay(mc), c.causal, c.scale);
        const oc = T.Tensor.fromBuffer(cpu, ob, [...out.shape], dtype);
        expectClose(oc.dataSync(), out.dataSync(), tol, tol, `forward ${what}`);
        const g = fused.attentionBackward!(lay(qc), lay(kc), lay(vc), mc && lay(mc), c.causal, c.scale, lay(oc), lay(goc));
        const got = (b: T.BackendBuffer, like: T.Tensor) => T.Tensor.fromBuffer(cpu, b, [...like.shape], dtype).dataSync();
        expectClose(got(g.dq, q), gq!.dataSync(), tol, tol, `dq ${what}`);
        expectClose(got(g.dk, k), gk!.dataSync(), tol, tol, `dk ${what}`);
        expectClose(got(g.dv, v), gv!.dataSync(), tol, tol, `dv ${what}`);
      }),
      { numRuns: 25 },
    );
  });

  it('tiled float32 kernels (head sizes multiples of 8, no mask) match, on strided inputs too', () => {
    // [B, H, L, S, D, Dv]: keys not a multiple of 8 (padded kᵀ), L > S causal, row counts not a multiple of 4.
    const shapes = [[1, 1, 16, 16, 8, 8], [2, 3, 17, 13, 16, 8], [1, 2, 33, 40, 32, 16], [1, 1, 20, 5, 8, 24], [2, 1, 64, 64, 32, 32], [1, 2, 40, 21, 16, 16]];
    const r = rng(11);
    for (const [B, H, L, S, D, Dv] of shapes as [number, number, number, number, number, number][]) {
      for (const causal of [false, true]) {
        const rand = (shape: number[]) => {
          const data = Array.from(randomData(r, 'float64', shape.reduce((a, b) => a * b, 1), -2, 2));
          return (device: string) => T.tensor(data, { dtype: 'float32', device }).reshape(shape);
        };
        const [fq, fk, fv, fg] = [rand([B, H, L, D]), rand([B, H, S, D]), rand([B, H, S, Dv]), rand([B, H, L, Dv])];
        const what = `B${B} H${H} L${L} S${S} D${D} Dv${Dv} causal ${causal}`;
        const [q, k, v] = [fq('reference'), fk('reference'), fv('reference')].map((t) => t.requiresGrad_()) as [T.Tensor, T.Tensor, T.Tensor];
        const out = composed(q, k, v, null, causal, 0.4);
        const [gq, gk, gv] = T.grad(out, [q, k, v], { gradOutputs: fg('reference') });
        // q with heads and rows swapped in memory (strided rows), k transposed in memory.
        const qc = fq('cpu').transpose(1, 2).contiguous().transpose(1, 2);
        const [kc, vc, goc] = [fk('cpu').mT.contiguous().mT, fv('cpu'), fg('cpu')];
        const lay = (t: T.Tensor) => t.layout('attention');
        const ob = cpu.fused.attention!(lay(qc), lay(kc), lay(vc), null, causal, 0.4);
        const oc = T.Tensor.fromBuffer(cpu, ob, [B, H, L, Dv], 'float32');
        expectClose(oc.dataSync(), out.dataSync(), 2e-5, 2e-5, `forward ${what}`);
        const g = cpu.fused.attentionBackward!(lay(qc), lay(kc), lay(vc), null, causal, 0.4, lay(oc), lay(goc));
        const got = (b: T.BackendBuffer, like: T.Tensor) => T.Tensor.fromBuffer(cpu, b, [...like.shape], 'float32').dataSync();
        expectClose(got(g.dq, q), gq!.dataSync(), 5e-5, 5e-5, `dq ${what}`);
        expectClose(got(g.dk, k), gk!.dataSync(), 5e-5, 5e-5, `dk ${what}`);
        expectClose(got(g.dv, v), gv!.dataSync(), 5e-5, 5e-5, `dv ${what}`);
      }
    }
  });

  it('runs the same on two threads (larger rows split across the pool)', async () => {
    const { setNumThreads, getNumThreads } = await import('../src/index.js');
    const before = getNumThreads();
    const r = rng(7);
    const mk = (shape: number[]) => T.tensor(Array.from(randomData(r, 'float64', shape.reduce((a, b) => a * b, 1), -1, 1)), { dtype: 'float32', device: 'cpu' }).reshape(shape);
    const [q, k, v, go] = [mk([2, 2, 64, 32]), mk([2, 2, 64, 32]), mk([2, 2, 64, 32]), mk([2, 2, 64, 32])];
    const lay = (t: T.Tensor) => t.layout('attention');
    const runAll = () => {
      const o = cpu.fused.attention!(lay(q), lay(k), lay(v), null, true, 0.2);
      const ot = T.Tensor.fromBuffer(cpu, o, [2, 2, 64, 32], 'float32');
      const g = cpu.fused.attentionBackward!(lay(q), lay(k), lay(v), null, true, 0.2, lay(ot), lay(go));
      return [ot, ...[g.dq, g.dk, g.dv].map((b) => T.Tensor.fromBuffer(cpu, b, [2, 2, 64, 32], 'float32'))].map((t) => t.dataSync());
    };
    try {
      setNumThreads(1);
      const one = runAll();
      setNumThreads(2);
      const two = runAll();
      one.forEach((a, i) => expectClose(two[i]!, a, 0, 0, `output ${i}`));
    } finally {
      setNumThreads(before);
    }
  });
});
