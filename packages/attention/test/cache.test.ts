/**
 * KV-cache decoding (spec §9.8, §9.5): for any partition of a sequence into calls, decoding with the cache equals
 * one full causal forward — for GQA, MQA, SQA, sigmoid and sliding-window attention (rolling buffer), in grad mode
 * and under noGrad; left-padded ragged batches; cache bookkeeping and sizes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cat, Generator, memoryStats, noGrad, scaledDotProductAttention as coreSdpa, scope, setBackend, tensor, type Tensor } from '@tessera/core';
import {
  causalMask, GroupedQueryAttention, KVCache, scaledDotProductAttention, SigmoidAttention, SlidingWindowAttention, SlidingWindowKVCache, SparseQueryAttention,
  MultiQueryAttention, type AttentionCache,
} from '../src/index.js';
import { BACKENDS } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { seeded, testFloat, tolFor } from './helpers.js';

/** Sizes of consecutive calls covering T tokens. */
const partitionArb = (T: number) =>
  fc.array(fc.integer({ min: 1, max: T }), { minLength: 1, maxLength: T }).map((sizes) => {
    const out: number[] = [];
    let left = T;
    for (const s of sizes) {
      if (left === 0) break;
      out.push(Math.min(s, left));
      left -= out.at(-1)!;
    }
    if (left > 0) out.push(left);
    return out;
  });

type Layer = GroupedQueryAttention;
function runChunks(layer: Layer, x: Tensor, chunks: readonly number[], cache: AttentionCache): Tensor {
  const outs: Tensor[] = [];
  let pos = 0;
  for (const c of chunks) {
    outs.push(layer.forward(x.narrow(1, pos, c), { cache }));
    pos += c;
  }
  return cat(outs, 1);
}

describe.each(BACKENDS)('KV-cache decoding ≡ full forward (%s)', (backend) => {
  const dtype = () => testFloat();
  const common = () => ({ hiddenSize: 8, dtype: dtype(), init: { normal: 0.4 } as const });
  const variants: [string, (seed: number) => Layer][] = [
    ['GQA 4/2 with RoPE', (s) => new GroupedQueryAttention({ ...common(), numHeads: 4, numKvHeads: 2, generator: new Generator(s) })],
    ['MQA, interleaved partial RoPE', (s) => new MultiQueryAttention({ ...common(), numHeads: 2, rope: { convention: 'interleaved', rotaryDim: 2 }, generator: new Generator(s) })],
    ['SQA H=4, H_q=2, H_kv=1', (s) => new SparseQueryAttention({ ...common(), numHeads: 4, numQueryHeads: 2, numKvHeads: 1, generator: new Generator(s) })],
    ['sigmoid attention', (s) => new SigmoidAttention({ ...common(), numHeads: 2, sequenceLength: 6, generator: new Generator(s) })],
    ['sliding window 3 (rolling buffer)', (s) => new SlidingWindowAttention({ ...common(), numHeads: 2, numKvHeads: 1, slidingWindow: 3, generator: new Generator(s) })],
    ['sliding window 1', (s) => new SlidingWindowAttention({ ...common(), numHeads: 2, slidingWindow: 1, generator: new Generator(s) })],
  ];

  it.each(variants)('%s: any partition into calls, under noGrad and in grad mode', async (_name, make) => {
    setBackend(backend);
    const tol = tolFor(dtype());
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 6 }).chain((T) => fc.tuple(fc.constant(T), partitionArb(T), fc.integer({ min: 0, max: 1e6 }))), async ([T, chunks, seed]) => {
      const layer = make(seed % 1000);
      const x = seeded(seed)([2, T, 8]);
      const full = await noGrad(() => layer.forward(x)).data();
      const cache = layer.createCache({ capacity: 1 });
      expectClose(await noGrad(() => runChunks(layer, x, chunks, cache)).data(), full, tol, `noGrad chunks ${chunks}`);
      expect(cache.length).toBe(T);
      const live = layer.createCache({ capacity: 2 });
      const out = runChunks(layer, x, chunks, live);
      expect(out.requiresGrad).toBe(true);
      expectClose(await out.data(), full, tol, `grad-mode chunks ${chunks}`);
      out.sum().backward(); // gradients flow through the live keys of each call
      expect(layer.q_proj.weight.grad).not.toBeNull();
    }), { numRuns: 8 });
  });

  it('left-padded ragged batch: real tokens match the unpadded sequence, in one call and decoding', async () => {
    setBackend(backend);
    const tol = tolFor(dtype());
    const layer = new GroupedQueryAttention({ ...common(), numHeads: 2, numKvHeads: 1, generator: new Generator(1) });
    const r = seeded(2);
    const [T, pad] = [5, 2];
    const a = r([1, T, 8]);
    const b = r([1, T - pad, 8]);
    const x = cat([a, cat([r([1, pad, 8]), b], 1)], 0); // row 1 is left-padded
    const mask = tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]], { dtype: 'int32' });
    const positionIds = tensor(Int32Array.from([0, 1, 2, 3, 4, 0, 0, 0, 1, 2])).reshape([2, T]);
    const want = await noGrad(() => layer.forward(b)).data();
    const got = noGrad(() => layer.forward(x, { attentionMask: mask, positionIds }));
    expectClose(await got.narrow(0, 1, 1).narrow(1, pad, T - pad).data(), want, tol, 'one call');
    expectClose(await got.narrow(0, 0, 1).data(), await noGrad(() => layer.forward(a)).data(), tol, 'unpadded row');
    // Decode: prefill 3 tokens, then one at a time; the mask always covers every key seen so far.
    const cache = layer.createCache();
    const outs: Tensor[] = [];
    for (const [from, len] of [[0, 3], [3, 1], [4, 1]] as const)
      outs.push(noGrad(() => layer.forward(x.narrow(1, from, len), { cache, attentionMask: mask.narrow(1, 0, from + len), positionIds: positionIds.narrow(1, from, len) })));
    expectClose(await cat(outs, 1).narrow(0, 1, 1).narrow(1, pad, T - pad).data(), want, tol, 'decoding');
  });

  it('sliding window: W ≥ T is full causal attention; W = 1 returns each token’s own value', async () => {
    setBackend(backend);
    const tol = tolFor(dtype());
    const swa = new SlidingWindowAttention({ ...common(), numHeads: 2, slidingWindow: 8, generator: new Generator(3) });
    const full = new GroupedQueryAttention({ ...common(), numHeads: 2 });
    full.loadStateDict(swa.stateDict());
    const x = seeded(4)([2, 5, 8]);
    expectClose(await swa.forward(x).data(), await full.forward(x).data(), tol, 'W ≥ T');
    const r = seeded(5);
    const [q, k, v] = [r([1, 2, 4, 3]), r([1, 2, 4, 3]), r([1, 2, 4, 3])];
    expectClose(await scaledDotProductAttention(q, k, v, { attnMask: causalMask(4, 4, { window: 1 }) }).data(), await v.data(), tol, 'W = 1');
    expect(() => new SlidingWindowAttention({ ...common(), numHeads: 2, slidingWindow: 2, causal: false })).toThrow(/sliding window needs causal/);
  });

  it('the package SDPA and core’s minimal composed SDPA agree', async () => {
    setBackend(backend);
    const r = seeded(6);
    const [q, k, v] = [r([2, 2, 3, 4]), r([2, 2, 3, 4]), r([2, 2, 3, 4])];
    expectClose(await scaledDotProductAttention(q, k, v, { isCausal: true }).data(), await coreSdpa(q, k, v, { isCausal: true }).data(), tolFor(dtype()), 'core');
  });
});

describe.each(BACKENDS)('cache bookkeeping (%s)', (backend) => {
  const kv = (seed: number, L: number) => {
    const r = seeded(seed);
    return [r([1, 2, L, 3]), r([1, 2, L, 4])] as const;
  };
  const bytes = () => (testFloat() === 'float64' ? 8 : 4);

  it('KVCache grows by doubling, reports positions and sizes, and trims', async () => {
    setBackend(backend);
    const cache = new KVCache({ capacity: 2 });
    expect(cache.bytesPerToken()).toBe(0);
    const u1 = noGrad(() => cache.update(...kv(1, 3)));
    expect([cache.length, cache.capacity]).toEqual([3, 3]);
    expect(u1.keyPositions).toEqual([0, 1, 2]);
    const u2 = noGrad(() => cache.update(...kv(2, 1)));
    expect([cache.length, cache.capacity]).toEqual([4, 6]);
    expect(u2.queryPositions).toEqual([3]);
    expect(u2.keys.shape).toEqual([1, 2, 4, 3]);
    expect(u2.values.shape).toEqual([1, 2, 4, 4]);
    expect(cache.bytesPerToken()).toBe(2 * (3 + 4) * bytes());
    expect(cache.bytes()).toBe(4 * 2 * 7 * bytes());
    cache.trim(-1);
    expect(cache.length).toBe(3);
    const again = noGrad(() => cache.update(...kv(4, 1)));
    expect(again.queryPositions).toEqual([3]);
    expect(cache.length).toBe(4);
    expect(() => cache.update(...kv(3, 1).map((t) => t.narrow(1, 0, 1)) as [Tensor, Tensor])).toThrow(/do not match the cache/);
    cache.dispose();
  });

  it('decoding frees deterministically: after scope() and cache.dispose() no buffer is left behind', async () => {
    setBackend(backend);
    for (const layer of [
      new GroupedQueryAttention({ hiddenSize: 8, numHeads: 2, numKvHeads: 1, dtype: testFloat() }),
      new SlidingWindowAttention({ hiddenSize: 8, numHeads: 2, slidingWindow: 2, dtype: testFloat() }),
    ]) {
      const x = seeded(1)([1, 5, 8]);
      const before = memoryStats()[backend]!.buffers;
      const cache = layer.createCache({ capacity: 1 });
      for (const grad of [false, true])
        scope(() => {
          cache.reset();
          for (let t = 0; t < 5; t++) (grad ? layer.forward(x.narrow(1, t, 1), { cache }).sum().backward() : noGrad(() => layer.forward(x.narrow(1, t, 1), { cache })));
        });
      cache.dispose();
      layer.zeroGrad();
      expect(memoryStats()[backend]!.buffers).toBe(before);
    }
  });

  it('SlidingWindowKVCache keeps at most W tokens in slot p mod W', async () => {
    setBackend(backend);
    const cache = new SlidingWindowKVCache(3);
    noGrad(() => cache.update(...kv(1, 2)));
    const u = noGrad(() => cache.update(...kv(2, 3)));
    // A multi-token call sees the old slots plus its own keys.
    expect(u.keyPositions).toEqual([0, 1, -1, 2, 3, 4]);
    expect(cache.storedTokens).toBe(3);
    const d = noGrad(() => cache.update(...kv(3, 1)));
    expect(d.keyPositions).toEqual([3, 4, 5]); // slot 5 mod 3 = 2 was position 2
    expect(cache.bytes()).toBe(3 * 2 * 7 * bytes());
    cache.trim(5);
    expect([cache.length, cache.storedTokens]).toEqual([5, 2]);
    expect(noGrad(() => cache.update(...kv(4, 1))).keyPositions).toEqual([3, 4, 5]);
    cache.reset();
    expect([cache.length, cache.storedTokens]).toEqual([0, 0]);
  });
});
