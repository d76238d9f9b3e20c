/** Cross-attention (spec §5.1, §5.3) and CrossViT CLS-token fusion (§5.2). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cat, Generator, noGrad, setBackend, tensor, type Tensor } from '@tessera/core';
import { gradcheck } from '@tessera/core/testing';
import { CrossAttention, CrossViTFusion, GroupedQueryAttention, MultiheadAttention } from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkParameterGradients, seeded, testFloat, tolFor } from './helpers.js';

describe.each(BACKENDS)('CrossAttention (%s)', (backend) => {
  const cfg = fc.record({ B: fc.integer({ min: 1, max: 2 }), L: fc.integer({ min: 1, max: 3 }), S: fc.integer({ min: 1, max: 5 }), seed: fc.integer({ min: 0, max: 1e6 }) });
  const make = (seed: number) => new CrossAttention({ queryDim: 6, sourceDim: 5, numHeads: 2, valueHeadDim: 4, outDim: 7, dtype: testFloat(), generator: new Generator(seed) });

  it('identical sources ≡ non-causal self-attention with the same weights', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, async ({ B, S, seed }) => {
      const cross = new CrossAttention({ queryDim: 6, numHeads: 3, bias: false, dtype: testFloat(), generator: new Generator(seed) });
      const self = new GroupedQueryAttention({ hiddenSize: 6, numHeads: 3, causal: false, rope: null, dtype: testFloat() });
      self.loadStateDict(cross.stateDict());
      const x = seeded(seed)([B, S, 6]);
      expectClose(await cross.forward(x, x).data(), await self.forward(x).data(), tol, 'cross(x, x) = self(x)');
    }), { numRuns: 8 });
  });

  it('output has the query length for any source length; permuting the source (and its mask) changes nothing', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, async ({ B, L, S, seed }) => {
      const attn = make(seed);
      const r = seeded(seed);
      const [xq, xs] = [r([B, L, 6]), r([B, S, 5])];
      const mask = tensor(Array.from({ length: B * S }, (_, i) => i % S === 0 || (i * 7 + seed) % 3 !== 0)).reshape([B, S]);
      const out = attn.forward(xq, xs, { sourceMask: mask });
      expect(out.shape).toEqual([B, L, 7]);
      const perm = tensor(Int32Array.from([...Array(S).keys()].reverse()));
      const permuted = attn.forward(xq, xs.indexSelect(1, perm), { sourceMask: mask.indexSelect(1, perm) });
      expectClose(await permuted.data(), await out.data(), tol, 'permutation invariance');
    }), { numRuns: 8 });
  });

  it('appending padded source tokens with the mask set leaves the output unchanged', async () => {
    setBackend(backend);
    const attn = make(1);
    const r = seeded(2);
    const [xq, xs] = [r([2, 3, 6]), r([2, 4, 5])];
    const padded = cat([xs, r([2, 2, 5], 10)], 1);
    const mask = tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0]], { dtype: 'int32' });
    expectClose(await attn.forward(xq, padded, { sourceMask: mask }).data(), await attn.forward(xq, xs).data(), tolFor(testFloat()), 'padding');
  });

  it('static cache: K/V computed once ≡ recomputed every step; its size depends on the source only', async () => {
    setBackend(backend);
    const attn = make(3);
    const r = seeded(4);
    const [xq, xs] = [r([2, 4, 6]), r([2, 5, 5])];
    const cache = noGrad(() => attn.precompute(xs));
    expect(cache.keys.shape).toEqual([2, 2, 5, 3]);
    expect(cache.bytesPerToken()).toBe(attn.kvCacheElementsPerSourceToken() * (testFloat() === 'float64' ? 8 : 4));
    const steps = [0, 1, 2, 3].map((t) => noGrad(() => attn.forward(xq.narrow(1, t, 1), cache)));
    expectClose(await cat(steps, 1).data(), await attn.forward(xq, xs).data(), tolFor(testFloat()), 'cached');
    cache.dispose();
  });

  it('nn.MultiheadAttention with kdim/vdim is the special case H·d_h = E (same weights, same output)', async () => {
    setBackend(backend);
    const mha = new MultiheadAttention(6, 2, { kdim: 5, vdim: 5, batchFirst: true, dtype: testFloat(), generator: new Generator(5) });
    const cross = new CrossAttention({ queryDim: 6, sourceDim: 5, numHeads: 2, dtype: testFloat() });
    const b = mha.in_proj_bias!;
    cross.loadStateDict({
      'q_proj.weight': mha.q_proj_weight!, 'q_proj.bias': b.narrow(0, 0, 6), 'k_proj.weight': mha.k_proj_weight!, 'k_proj.bias': b.narrow(0, 6, 6),
      'v_proj.weight': mha.v_proj_weight!, 'v_proj.bias': b.narrow(0, 12, 6), 'o_proj.weight': mha.out_proj.weight, 'o_proj.bias': mha.out_proj.bias!,
    });
    const r = seeded(6);
    const [xq, xs] = [r([2, 3, 6]), r([2, 4, 5])];
    expectClose(await cross.forward(xq, xs).data(), await mha.forward(xq, xs, xs)[0].data(), tolFor(testFloat()), 'MHA special case');
  });

  it.runIf(hasFloat64(backend))('gradcheck in float64: query, source and every parameter', async () => {
    setBackend(backend);
    const attn = new CrossAttention({ queryDim: 3, sourceDim: 2, numHeads: 2, headDim: 2, valueHeadDim: 1, dtype: 'float64', generator: new Generator(7) });
    const r = seeded(8, 'float64');
    const [xq, xs] = [r([1, 2, 3]).requiresGrad_(), r([1, 3, 2]).requiresGrad_()];
    const mask = tensor([[1, 0, 1]], { dtype: 'int32' });
    await gradcheck((a, b) => attn.forward(a!, b!, { sourceMask: mask }), [xq, xs]);
    await checkParameterGradients(attn, () => attn.forward(xq, xs, { sourceMask: mask }));
  });
});

describe.each(BACKENDS)('CrossViT fusion (%s)', (backend) => {
  const make = (seed: number) => new CrossViTFusion({ dims: [4, 6], numHeads: [2, 3], dtype: testFloat(), generator: new Generator(seed) });
  const inputs = (seed: number): [Tensor, Tensor] => {
    const r = seeded(seed);
    return [r([2, 4, 4]), r([2, 3, 6])];
  };

  it('only the CLS tokens change; patch tokens pass through', async () => {
    setBackend(backend);
    const xs = inputs(1);
    const ys = make(1).forward(xs);
    for (const i of [0, 1]) {
      expect(ys[i].shape).toEqual(xs[i].shape);
      expect([...(await ys[i].narrow(1, 1, xs[i].shape[1]! - 1).data())]).toEqual([...(await xs[i].narrow(1, 1, xs[i].shape[1]! - 1).data())]);
    }
  });

  it('with W_proj = 0 and b_proj = 0 the fused CLS is RevertProj(Proj(cls))', async () => {
    setBackend(backend);
    const fusion = make(2);
    noGrad(() => {
      for (const i of [0, 1]) for (const p of ['weight', 'bias']) fusion.stateDict()[`fusion.${i}.attn.proj.${p}`]!.zero_();
    });
    const xs = inputs(2);
    const ys = fusion.forward(xs);
    const call = (name: 'projs' | 'revert_projs', i: number, t: Tensor) => (fusion[name].at(i) as unknown as { forward(t: Tensor): Tensor }).forward(t);
    for (const i of [0, 1]) {
      const expected = call('revert_projs', i, call('projs', i, xs[i].narrow(1, 0, 1)));
      expectClose(await ys[i].narrow(1, 0, 1).data(), await expected.data(), tolFor(testFloat()), `branch ${i}`);
    }
  });

  it('permuting the other branch’s patch tokens leaves the fused CLS unchanged', async () => {
    setBackend(backend);
    const fusion = make(3);
    const [x0, x1] = inputs(3);
    const perm = tensor(Int32Array.from([0, 2, 1]));
    const a = fusion.forward([x0, x1])[0];
    const b = fusion.forward([x0, x1.indexSelect(1, perm)])[0];
    expectClose(await b.narrow(1, 0, 1).data(), await a.narrow(1, 0, 1).data(), tolFor(testFloat()), 'permutation');
  });

  it.runIf(hasFloat64(backend))('gradcheck in float64: both branches and the parameters', async () => {
    setBackend(backend);
    const fusion = new CrossViTFusion({ dims: [2, 4], numHeads: [1, 2], dtype: 'float64', generator: new Generator(4) });
    const r = seeded(9, 'float64');
    const [x0, x1] = [r([1, 2, 2]).requiresGrad_(), r([1, 3, 4]).requiresGrad_()];
    await gradcheck((a, b) => fusion.forward([a!, b!]), [x0, x1]);
    await checkParameterGradients(fusion, () => cat(fusion.forward([x0, x1]).map((t) => t.reshape([-1])), 0), { samples: 3 });
  });
});
