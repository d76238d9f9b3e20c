/**
 * capture() on a small causal transformer (embedding lookups, fused attention and norms, GELU, cross-entropy, Adam
 * outside the capture): replayed steps with new token batches follow eager steps on every backend, and a long run
 * of replays keeps memory flat.
 */
import { describe, expect, it } from 'vitest';
import { arange, capture, Generator, memoryStats, randint, scope, type Tensor } from '@tessera/core';
import { scaledDotProductAttention } from '@tessera/attention';
import { Adam, crossEntropy, Embedding, LayerNorm, Linear, MLP, Module } from '@tessera/nn';
import { BACKENDS } from '../support/backends.js';

const [V, D, H, T, B] = [24, 16, 2, 8, 3];

class TinyLM extends Module {
  tok: Embedding;
  pos: Embedding;
  ln1: LayerNorm;
  qkv: Linear;
  proj: Linear;
  ln2: LayerNorm;
  mlp: MLP;
  head: Linear;
  constructor(private readonly f: { device: string; generator: Generator }) {
    super();
    this.tok = new Embedding(V, D, f);
    this.pos = new Embedding(T, D, f);
    this.ln1 = new LayerNorm(D, f);
    this.qkv = new Linear(D, 3 * D, f);
    this.proj = new Linear(D, D, f);
    this.ln2 = new LayerNorm(D, f);
    this.mlp = new MLP(D, 4 * D, { ...f, activation: 'geluTanh' });
    this.head = new Linear(D, V, { ...f, bias: false });
  }
  override forward(x: Tensor): Tensor {
    let h = this.tok.forward(x).add(this.pos.forward(arange(0, T, 1, { device: this.f.device, dtype: 'int32' })));
    const qkv = this.qkv.forward(this.ln1.forward(h)).reshape([B, T, 3, H, D / H]).permute([2, 0, 3, 1, 4]);
    const y = scaledDotProductAttention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), { isCausal: true });
    h = h.add(this.proj.forward(y.transpose(1, 2).reshape([B, T, D])));
    h = h.add(this.mlp.forward(this.ln2.forward(h)));
    return this.head.forward(h);
  }
}

function setup(device: string) {
  const model = new TinyLM({ device, generator: new Generator(5) });
  const params = model.parameters();
  const optimizer = new Adam(params, { lr: 1e-2 });
  const x = randint(0, V, [B, T], { device, generator: new Generator(6) });
  const y = randint(0, V, [B, T], { device, generator: new Generator(7) });
  const lossOf = () => crossEntropy(model.forward(x).flatten(0, 1), y.flatten());
  const batch = (k: number) => {
    scope(() => {
      x.copy_(randint(0, V, [B, T], { device, generator: new Generator(100 + k) }));
      y.copy_(randint(0, V, [B, T], { device, generator: new Generator(200 + k) }));
    });
  };
  return { params, optimizer, lossOf, batch };
}

describe.each(BACKENDS)('capture() of a transformer step on %s', (device) => {
  it('replays with new batches and Adam outside, as eager steps do', async () => {
    const eager = setup(device);
    const cap = setup(device);
    const [eagerLoss, capLoss]: number[][] = [[], []];
    for (let k = 0; k < 5; k++) {
      eager.batch(k);
      const l = scope(() => {
        eager.optimizer.zeroGrad();
        const l = eager.lossOf();
        l.backward();
        eager.optimizer.step();
        return l.detach();
      });
      eagerLoss.push(await l.item());
      l.dispose();
    }
    cap.batch(0);
    const step = capture(() => {
      const l = cap.lossOf();
      l.backward();
      return l.detach();
    }, { grads: cap.params, device });
    cap.optimizer.step();
    capLoss.push(await step.outputs.item());
    for (let k = 1; k < 5; k++) {
      cap.batch(k);
      cap.optimizer.zeroGrad(); // cleared by the user: replay gives the captured gradients back
      const l = step.replay();
      cap.optimizer.step();
      capLoss.push(await l.item());
    }
    capLoss.forEach((v, k) => expect(v).toBeCloseTo(eagerLoss[k]!, 4));
    // The batches differ, so a replay that ignored them (or Adam's updates) would repeat a loss.
    expect(new Set(capLoss.map((v) => v.toFixed(6))).size).toBe(5);
    const [a, b] = [await eager.params[2]!.data(), await cap.params[2]!.data()];
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 4));
    step.dispose();
  });

  it('keeps live buffers flat over many replays', async () => {
    const s = setup(device);
    s.batch(0);
    const step = capture(() => {
      const l = s.lossOf();
      l.backward();
      return l.detach();
    }, { grads: s.params, device });
    const counts: number[] = [];
    for (let k = 0; k < 60; k++) {
      step.replay();
      s.optimizer.step();
      if (k % 20 === 19) {
        await step.outputs.item();
        counts.push(memoryStats()[device]!.buffers);
      }
    }
    // Never more than after the first 20 (a GC may free tensors earlier tests dropped, so fewer is fine).
    expect(Math.max(...counts), JSON.stringify(counts)).toBe(counts[0]);
    step.dispose();
  });
});
