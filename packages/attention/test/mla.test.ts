/** Multi-head Latent Attention (spec §7.8): PyTorch golden values, absorbed ≡ naive, compressed-cache decoding. */
import { describe, expect, it } from 'vitest';
import { cat, Generator, grad, noGrad, randn, setBackend, tensor, type Tensor } from '@tessera/core';
import {
  DEEPSEEK_V2_LITE_MLA, DEEPSEEK_V2_MLA, DEEPSEEK_V3_MLA, mlaCacheElementsPerToken, mlaFlopsPerToken, mlaNaiveCacheElementsPerToken,
  MultiHeadLatentAttention, yarnGetMscale, yarnSoftmaxFactor, type MultiHeadLatentAttentionOptions, type YarnScaling,
} from '../src/mla/index.js';
import { gradcheck } from '@tessera/core/testing';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkAgainstGolden, goldenDtype, loadCases, type GoldenCase } from './attention6-fixtures.js';

const TOL = { atol: 1e-11, rtol: 1e-9 };
const draw = (seed: number) => {
  const gen = new Generator(seed);
  return (shape: number[], scale = 1) => randn(shape, { dtype: 'float64', generator: gen }).mul(scale);
};
const small = (over: Partial<MultiHeadLatentAttentionOptions> = {}): MultiHeadLatentAttention =>
  new MultiHeadLatentAttention({
    hiddenSize: 16, numHeads: 2, qLoraRank: 6, kvLoraRank: 8, qkNopeHeadDim: 4, qkRopeHeadDim: 4, vHeadDim: 3,
    ropeScaling: { factor: 40, originalMaxPositionEmbeddings: 4, mscale: 0.707, mscaleAllDim: 0.707 },
    init: { normal: 0.3 }, dtype: 'float64', generator: new Generator(1), ...over,
  });

describe.each(BACKENDS.filter(hasFloat64))('MultiHeadLatentAttention (%s)', (backend) => {
  it('has Hugging Face parameter names and shapes, with or without query compression', () => {
    setBackend(backend);
    const shapes = (m: MultiHeadLatentAttention) => Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.shape]));
    expect(shapes(small())).toEqual({
      'q_a_proj.weight': [6, 16], 'q_a_layernorm.weight': [6], 'q_b_proj.weight': [16, 6], 'kv_a_proj_with_mqa.weight': [12, 16],
      'kv_a_layernorm.weight': [8], 'kv_b_proj.weight': [14, 8], 'o_proj.weight': [16, 6],
    });
    expect(Object.keys(shapes(small({ qLoraRank: null })))).toEqual(['q_proj.weight', 'kv_a_proj_with_mqa.weight', 'kv_a_layernorm.weight', 'kv_b_proj.weight', 'o_proj.weight']);
  });

  it('uses the softmax scale (d_n + d_r)^-1/2 · mscale² in both paths (not (d_c + d_r)^-1/2)', () => {
    setBackend(backend);
    expectClose(yarnGetMscale(40, 0.707), 0.1 * 0.707 * Math.log(40) + 1, { atol: 1e-15 });
    expectClose(yarnGetMscale(40, 1) ** 2, 1.8739, { atol: 1e-4 });
    expectClose(yarnGetMscale(40, 0.707) ** 2, 1.5896, { atol: 1e-4 });
    expect(yarnGetMscale(1, 1)).toBe(1);
    expectClose(small().softmaxScale, 8 ** -0.5 * yarnSoftmaxFactor({ factor: 40, originalMaxPositionEmbeddings: 4, mscaleAllDim: 0.707 }), { atol: 1e-15 });
    expect(small({ ropeScaling: null }).softmaxScale).toBe(8 ** -0.5);
    // The two paths share the scale: changing it changes both identically.
    const m = small({ softmaxScale: 0.37 });
    const x = draw(2)([1, 4, 16]);
    expectClose(m.forward(x, { impl: 'absorbed' }).dataSync(), m.forward(x, { impl: 'naive' }).dataSync(), TOL);
  });

  it('absorbed ≡ naive, and their gradients w.r.t. every weight agree', () => {
    setBackend(backend);
    for (const over of [{}, { qLoraRank: null }, { ropeInterleave: false }, { qkNopeHeadDim: 0 }] as Partial<MultiHeadLatentAttentionOptions>[]) {
      const m = small(over);
      const x = draw(3)([2, 5, 16]);
      const up = draw(4)([2, 5, 16]);
      const params = m.parameters();
      const [a, b] = [m.forward(x, { impl: 'naive' }), m.forward(x, { impl: 'absorbed' })];
      expectClose(b.dataSync(), a.dataSync(), TOL, 'output');
      const ga = grad(a.mul(up).sum(), params);
      const gb = grad(b.mul(up).sum(), params);
      ga.forEach((g, i) => expectClose(gb[i]!.dataSync(), g!.dataSync(), TOL, `grad ${i}`));
    }
  });

  it('decoding with the compressed cache (token by token and multi-token appends) ≡ the full forward', () => {
    setBackend(backend);
    const m = small();
    const x = draw(5)([2, 7, 16]);
    const full = m.forward(x, { impl: 'naive' });
    for (const parts of [[1, 1, 1, 1, 1, 1, 1], [3, 1, 3], [2, 5]]) {
      const cache = m.createCache({ capacity: 2 });
      const outs: Tensor[] = [];
      let at = 0;
      noGrad(() => {
        for (const L of parts) {
          outs.push(m.forward(x.narrow(1, at, L), { cache }));
          at += L;
        }
      });
      expectClose(cat(outs, 1).dataSync(), full.dataSync(), TOL, `parts ${parts}`);
      expect(cache.length).toBe(7);
      // Cache tensors have exactly d_c and d_r features per token, no head axis.
      expect(cache.latents!.shape).toEqual([2, 7, 8]);
      expect(cache.ropeKeys!.shape).toEqual([2, 7, 4]);
      expect(cache.elementsPerToken()).toBe(12);
    }
  });

  it('caches the RMS-normalised latent and the rotated shared rope key', () => {
    setBackend(backend);
    const m = small();
    const x = draw(6)([1, 3, 16]);
    const cache = m.createCache();
    noGrad(() => m.forward(x, { cache }));
    const kvA = m.kv_a_proj_with_mqa.forward(x);
    expectClose(cache.latents!.dataSync(), m.kv_a_layernorm.forward(kvA.narrow(-1, 0, 8)).dataSync(), TOL, 'latent');
    // Position 0 is not rotated; later positions are (norm-preserving rotation, different values).
    expectClose(cache.ropeKeys!.narrow(1, 0, 1).dataSync(), kvA.narrow(-1, 8, 4).narrow(1, 0, 1).dataSync(), TOL, 'k^R at 0');
    const rotated = cache.ropeKeys!.narrow(1, 2, 1);
    const raw = kvA.narrow(-1, 8, 4).narrow(1, 2, 1);
    expect(Math.abs(rotated.sub(raw).abs().max().itemSync())).toBeGreaterThan(1e-3);
  });

  it('is invariant to a constant offset of all positions (relative RoPE), and padding masks work', () => {
    setBackend(backend);
    const m = small({ ropeScaling: null });
    const x = draw(7)([2, 5, 16]);
    const base = m.forward(x);
    expectClose(m.forward(x, { positionIds: [7, 8, 9, 10, 11] }).dataSync(), base.dataSync(), TOL, 'offset');
    // Left padding: the padded row's real tokens give the same outputs as the unpadded sequence at shifted positions.
    const mask = tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]);
    const out = m.forward(x, { attentionMask: mask, positionIds: tensor([[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]) });
    const alone = m.forward(x.narrow(0, 0, 1).narrow(1, 2, 3));
    expectClose(out.narrow(0, 0, 1).narrow(1, 2, 3).dataSync(), alone.dataSync(), TOL, 'left padding');
  });

  it('with d_r = 0 and no mask it is permutation-equivariant', () => {
    setBackend(backend);
    const m = small({ qkRopeHeadDim: 0, causal: false, ropeScaling: null });
    const x = draw(8)([1, 5, 16]);
    const perm = [3, 0, 4, 1, 2];
    const permute = (t: Tensor) => cat(perm.map((i) => t.narrow(1, i, 1)), 1);
    expectClose(m.forward(permute(x)).dataSync(), permute(m.forward(x)).dataSync(), TOL);
    expectClose(m.forward(x, { impl: 'absorbed' }).dataSync(), m.forward(x).dataSync(), TOL, 'absorbed');
  });

  it('passes gradcheck on the naive and absorbed paths (float64)', async () => {
    setBackend(backend);
    const m = new MultiHeadLatentAttention({
      hiddenSize: 4, numHeads: 2, qLoraRank: 3, kvLoraRank: 3, qkNopeHeadDim: 2, qkRopeHeadDim: 2, vHeadDim: 2,
      init: { normal: 0.5 }, dtype: 'float64', generator: new Generator(9),
    });
    const x = draw(10)([1, 3, 4]).requiresGrad_();
    await gradcheck((t) => m.forward(t!, { impl: 'naive' }), [x]);
    await gradcheck((t) => m.forward(t!, { impl: 'absorbed' }), [x]);
  });

  it('reports the cache and FLOP accounting of spec §7.5 / §7.7', () => {
    for (const shape of [DEEPSEEK_V2_MLA, DEEPSEEK_V2_LITE_MLA, DEEPSEEK_V3_MLA]) expect(mlaCacheElementsPerToken(shape)).toBe(576);
    expect(mlaNaiveCacheElementsPerToken(DEEPSEEK_V2_MLA)).toBe(40960);
    expect(mlaFlopsPerToken(DEEPSEEK_V2_MLA, 1, 'naive').attention).toBe(81920);
    expect(mlaFlopsPerToken(DEEPSEEK_V2_MLA, 1, 'absorbed').attention).toBe(278528);
    expect(small().kvCacheElementsPerToken()).toBe(12);
  });
});

describe.each(BACKENDS)('MultiHeadLatentAttention vs PyTorch (%s)', (backend) => {
  const golden = loadCases<GoldenCase<MultiHeadLatentAttentionOptions & { ropeScaling: YarnScaling | null }>>('mla.json');
  it.each(golden.map((c) => [c.name, c] as const))('naive and absorbed paths match the PyTorch reference: %s', async (_n, c) => {
    setBackend(backend);
    const m = new MultiHeadLatentAttention({ ...c.config, dtype: goldenDtype() });
    await checkAgainstGolden(m, c, (x) => m.forward(x, { impl: 'naive' }));
    await checkAgainstGolden(m, c, (x) => m.forward(x, { impl: 'absorbed' }));
  });
});
