/** Sparse Query Attention (§9.1), Cross-Layer Attention (§9.2) and sigmoid attention (§9.3). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cat, Generator, grad, noGrad, setBackend, tensor, zeros, type Tensor } from '@tessera/core';
import { gradcheck } from '@tessera/core/testing';
import {
  crossLayerAttentionLayers, DecoderLM, GroupedQueryAttention, sigmoidAttention, SigmoidAttention, SlidingWindowAttention, SparseQueryAttention,
  stackCacheElementsPerToken, type GroupedQueryAttentionOptions,
} from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkParameterGradients, seeded, testFloat, tolFor } from './helpers.js';

describe.each(BACKENDS)('Sparse Query Attention (%s)', (backend) => {
  it('H_q = H ≡ GQA, H_q = H_kv = H ≡ MHA; head dim d/H of the baseline; parameter count d·d_h·(2H_q + 2H_kv) + d', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    const x = seeded(1)([2, 3, 8]);
    for (const [Hq, Hkv] of [[4, 2], [4, 4]] as const) {
      const sqa = new SparseQueryAttention({ hiddenSize: 8, numHeads: 4, numQueryHeads: Hq, numKvHeads: Hkv, dtype: testFloat(), generator: new Generator(2) });
      const gqa = new GroupedQueryAttention({ hiddenSize: 8, numHeads: 4, numKvHeads: Hkv, outputBias: true, dtype: testFloat() });
      gqa.loadStateDict(sqa.stateDict());
      expectClose(await sqa.forward(x).data(), await gqa.forward(x).data(), tol, `H_q=${Hq}, H_kv=${Hkv}`);
    }
    const xsqa = new SparseQueryAttention({ hiddenSize: 8, numHeads: 4, numQueryHeads: 1, numKvHeads: 1 });
    expect(xsqa.headDim).toBe(2);
    expect(xsqa.q_proj.weight.shape).toEqual([2, 8]);
    expect(xsqa.o_proj.weight.shape).toEqual([8, 2]);
    expect(xsqa.numParameters()).toBe(8 * 2 * (2 * 1 + 2 * 1) + 8);
    expect(xsqa.flopsPerToken(10).attention).toBe(4 * 1 * 2 * 10);
    expect(() => new SparseQueryAttention({ hiddenSize: 8, numHeads: 4, numQueryHeads: 1, numKvHeads: 2 })).toThrow(/reverse SQA/);
  });
});

describe.each(BACKENDS)('Cross-Layer Attention (%s)', (backend) => {
  const opts = (): GroupedQueryAttentionOptions => ({ hiddenSize: 8, numHeads: 2, numKvHeads: 1, dtype: testFloat(), init: { normal: 0.4 } });
  /** Runs a stack: producers pass their K/V to the consumers of their block. */
  const run = (layers: GroupedQueryAttention[], x: Tensor) => {
    let h = x;
    let shared = null;
    for (const l of layers) {
      if (l.ownsKeyValues) {
        const r = l.forwardWithKV(h);
        [shared] = [r.kv];
        h = h.add(r.output);
      } else h = h.add(l.forward(h, { sharedKV: shared }));
    }
    return h;
  };

  it('sharing factor 1 is the baseline; consumers have only q_proj/o_proj', () => {
    setBackend(backend);
    const layers = crossLayerAttentionLayers(4, 2, opts());
    expect(layers.map((l) => l.ownsKeyValues)).toEqual([true, false, true, false]);
    expect(Object.keys(layers[1]!.stateDict())).toEqual(['q_proj.weight', 'o_proj.weight']);
    expect(crossLayerAttentionLayers(3, 1, opts()).every((l) => l.ownsKeyValues)).toBe(true);
    expect(stackCacheElementsPerToken(layers)).toBe((4 / 2) * 2 * 1 * 4);
    expect(() => layers[1]!.forward(seeded(1)([1, 2, 8]))).toThrow(/pass sharedKV/);
  });

  it('the producer’s W_K/W_V gradients are the sum of the contributions of every layer of its block', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    const [p, c] = crossLayerAttentionLayers(2, 2, { ...opts(), generator: new Generator(3) }) as [GroupedQueryAttention, GroupedQueryAttention];
    const x = seeded(4)([2, 3, 8]);
    const up = seeded(5)([2, 3, 8]);
    const y = run([p, c], x);
    const [gk, gv] = grad(y, [p.k_proj!.weight, p.v_proj!.weight], { gradOutputs: up });
    // The same stack with the producer's K/V weights split into two independent copies: one feeds the producer's
    // own attention, the other only the K/V handed to the consumer.
    const [own, forConsumer] = [0, 1].map(() => {
      const m = new GroupedQueryAttention({ ...opts(), ownsKeyValues: true });
      m.loadStateDict(p.stateDict());
      return m;
    }) as [GroupedQueryAttention, GroupedQueryAttention];
    const h1 = x.add(own.forward(x));
    const y2 = h1.add(c.forward(h1, { sharedKV: forConsumer.forwardWithKV(x).kv }));
    expectClose(await y2.data(), await y.data(), tol, 'split copies give the same forward');
    const [k1, v1, k2, v2] = grad(y2, [own.k_proj!.weight, own.v_proj!.weight, forConsumer.k_proj!.weight, forConsumer.v_proj!.weight], { gradOutputs: up });
    expectClose(await gk!.data(), await k1!.add(k2!).data(), tol, 'W_K: sum over the block');
    expectClose(await gv!.data(), await v1!.add(v2!).data(), tol, 'W_V: sum over the block');
  });

  it('decoding with the per-block shared cache ≡ the full forward (DecoderLM, s = 2)', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 3 }), async (seed, first) => {
      const lm = new DecoderLM({ vocabSize: 7, hiddenSize: 8, numLayers: 4, numHeads: 2, numKvHeads: 1, claSharingFactor: 2, dtype: testFloat(), generator: new Generator(seed) });
      const ids = tensor(Int32Array.from({ length: 8 }, (_, i) => (seed + 3 * i) % 7)).reshape([2, 4]);
      const full = noGrad(() => lm.forward(ids));
      const cache = lm.createCache();
      expect(cache.caches.length).toBe(2);
      expect(cache.forLayer(1)).toBe(cache.forLayer(0));
      const steps = [noGrad(() => lm.forward(ids.narrow(1, 0, first), { cache }))];
      for (let t = first; t < 4; t++) steps.push(noGrad(() => lm.forward(ids.narrow(1, t, 1), { cache })));
      expectClose(await cat(steps, 1).data(), await full.data(), tol, 'decode');
      expect(cache.bytesPerToken()).toBe(2 * 2 * 1 * 4 * (testFloat() === 'float64' ? 8 : 4));
    }), { numRuns: 5 });
  });
});

describe.each(BACKENDS)('sigmoid attention (%s)', (backend) => {
  const r4 = (seed: number) => {
    const r = seeded(seed);
    return (s: number[]) => r(s);
  };

  it('Q = 0 with b = −ln(S−1): every weight is 1/S, so the output is mean(V)', async () => {
    setBackend(backend);
    const r = r4(1);
    const S = 5;
    const [k, v] = [r([1, 2, S, 3]), r([1, 2, S, 4])];
    const q = zeros([1, 2, 2, 3], { dtype: testFloat() });
    const out = sigmoidAttention(q, k, v, { bias: -Math.log(S - 1) });
    expectClose(await out.data(), await v.mean(2, true).expand([1, 2, 2, 4]).data(), tolFor(testFloat()), 'mean(V)');
  });

  it('additivity: one more key/value pair adds σ(q·k′/√d + b)·v′ to each row; masked keys contribute 0', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 4 }), async (seed, S) => {
      const r = r4(seed);
      const [q, k, v, k1, v1] = [r([1, 1, 2, 3]), r([1, 1, S, 3]), r([1, 1, S, 2]), r([1, 1, 1, 3]), r([1, 1, 1, 2])];
      const b = -1.3;
      const base = sigmoidAttention(q, k, v, { bias: b });
      const more = sigmoidAttention(q, cat([k, k1], 2), cat([v, v1], 2), { bias: b });
      const w = q.matmul(k1.mT).div(Math.sqrt(3)).add(b).sigmoid();
      expectClose(await more.data(), await base.add(w.matmul(v1)).data(), tol, 'additivity');
      const masked = sigmoidAttention(q, cat([k, k1], 2), cat([v, v1.add(100)], 2), { bias: b, attnMask: tensor([...new Array(S).fill(true), false]) });
      expectClose(await masked.data(), await base.data(), tol, 'masked key');
    }), { numRuns: 10 });
  });

  it('the module is causal: changing later tokens leaves earlier outputs unchanged', async () => {
    setBackend(backend);
    const attn = new SigmoidAttention({ hiddenSize: 8, numHeads: 2, sequenceLength: 4, dtype: testFloat(), generator: new Generator(6) });
    expect(attn.sigmoidBias).toBeCloseTo(-Math.log(4));
    const x = seeded(7)([1, 4, 8]);
    const y = noGrad(() => x.clone());
    noGrad(() => y.narrow(1, 2, 2).add_(1));
    expectClose(await attn.forward(y).narrow(1, 0, 2).data(), await attn.forward(x).narrow(1, 0, 2).data(), tolFor(testFloat()), 'causal');
    expect(() => new SigmoidAttention({ hiddenSize: 6, numHeads: 2 })).toThrow(/sequenceLength/);
  });
});

describe.each(BACKENDS)('causal future-invariance of every self-attention configuration (%s)', (backend) => {
  const configs: [string, (s: number) => GroupedQueryAttention][] = [
    ['GQA', (s) => new GroupedQueryAttention({ hiddenSize: 8, numHeads: 4, numKvHeads: 2, dtype: testFloat(), generator: new Generator(s) })],
    ['sliding window 2', (s) => new SlidingWindowAttention({ hiddenSize: 8, numHeads: 2, slidingWindow: 2, dtype: testFloat(), generator: new Generator(s) })],
    ['SQA', (s) => new SparseQueryAttention({ hiddenSize: 8, numHeads: 4, numQueryHeads: 2, numKvHeads: 2, dtype: testFloat(), generator: new Generator(s) })],
  ];
  it.each(configs)('%s: output at t is unchanged when tokens after t change', async (_n, make) => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 4 }), async (seed, t) => {
      const attn = make(seed % 97);
      const r = seeded(seed);
      const x = r([2, 5, 8]);
      const changed = cat([x.narrow(1, 0, t), r([2, 5 - t, 8])], 1);
      expectClose(await attn.forward(changed).narrow(1, 0, t).data(), await attn.forward(x).narrow(1, 0, t).data(), tol, 'prefix');
    }), { numRuns: 8 });
  });
});

describe.each(BACKENDS.filter(hasFloat64))('gradchecks of the configurations in float64 (%s)', (backend) => {
  const base = { hiddenSize: 4, dtype: 'float64' as const, init: { normal: 0.5 } as const };
  const modules: [string, () => GroupedQueryAttention][] = [
    ['sliding window', () => new SlidingWindowAttention({ ...base, numHeads: 2, slidingWindow: 2, generator: new Generator(1) })],
    ['sigmoid', () => new SigmoidAttention({ ...base, numHeads: 2, sequenceLength: 3, generator: new Generator(2) })],
    ['SQA', () => new SparseQueryAttention({ ...base, numHeads: 2, numQueryHeads: 1, numKvHeads: 1, generator: new Generator(3) })],
  ];
  it.each(modules)('%s: input and parameters', async (_n, make) => {
    setBackend(backend);
    const attn = make();
    const x = seeded(10, 'float64')([1, 3, 4]).requiresGrad_();
    await gradcheck((x) => attn.forward(x!), [x]);
    await checkParameterGradients(attn, () => attn.forward(x));
  });

  it('CLA pair: input and the parameters of both layers', async () => {
    setBackend(backend);
    const [p, c] = crossLayerAttentionLayers(2, 2, { ...base, numHeads: 2, numKvHeads: 1, generator: new Generator(4) }) as [GroupedQueryAttention, GroupedQueryAttention];
    const stack = (x: Tensor) => {
      const r = p.forwardWithKV(x);
      const h = x.add(r.output);
      return h.add(c.forward(h, { sharedKV: r.kv }));
    };
    const x = seeded(11, 'float64')([1, 3, 4]).requiresGrad_();
    await gradcheck((x) => stack(x!), [x]);
    await checkParameterGradients(p, () => stack(x));
    await checkParameterGradients(c, () => stack(x));
  });
});
