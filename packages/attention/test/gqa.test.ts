/** GroupedQueryAttention: PyTorch reference fixtures (HF LLaMA math), spec §4.5 equivalences and MHA→GQA conversion. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cat, Generator, grad, noGrad, setBackend, type Tensor } from '@tessera/core';
import { gradcheck } from '@tessera/core/testing';
import {
  causalMask, convertMhaToGqa, convertMhaToGqaStateDict, GroupedQueryAttention, meanPoolHeads, MultiheadAttention, MultiQueryAttention,
  type GroupedQueryAttentionOptions, type RopeOptions,
} from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkParameterGradients, fixture, fromFT, numbers, seeded, stateFrom, testFloat, tolFor, type FT } from './helpers.js';

interface GqaCase {
  name: string;
  config: { hiddenSize: number; numHeads: number; numKvHeads: number; headDim: number; causal: boolean; rope: RopeOptions | null };
  state: Record<string, FT>;
  x: FT;
  out: FT;
  upstream: FT;
  inputGrads: FT[];
  paramGrads: Record<string, FT>;
}

const cases = fixture<GqaCase[]>('gqa.json');

describe.each(BACKENDS)('GroupedQueryAttention vs PyTorch reference (%s)', (backend) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    setBackend(backend);
    const dtype = testFloat();
    const tol = tolFor(dtype);
    const attn = new GroupedQueryAttention({ ...c.config, dtype });
    attn.loadStateDict(stateFrom(c.state));
    const x = fromFT(c.x).requiresGrad_();
    const out = attn.forward(x);
    expectClose(await out.data(), numbers(c.out), tol, 'output');
    const params = attn.namedParameters();
    const gs = grad(out, [x, ...params.map(([, p]) => p)], { gradOutputs: fromFT(c.upstream) });
    expectClose(await gs[0]!.data(), numbers(c.inputGrads[0]!), tol, 'input grad');
    for (const [i, [name]] of params.entries()) expectClose(await gs[1 + i]!.data(), numbers(c.paramGrads[name]!), tol, `${name}.grad`);
  });
});

describe.each(BACKENDS)('GQA / MQA equivalences (%s)', (backend) => {
  const cfg = fc.record({ Hkv: fc.integer({ min: 1, max: 2 }), g: fc.integer({ min: 1, max: 3 }), dh: fc.constantFrom(2, 4), T: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1e6 }) });
  const opts = (H: number, Hkv: number, dh: number, seed: number): GroupedQueryAttentionOptions => ({
    hiddenSize: 6, numHeads: H, numKvHeads: Hkv, headDim: dh, dtype: testFloat(), generator: new Generator(seed), init: { normal: 0.3 },
  });

  it('numKvHeads = numHeads is MHA: equals a per-head loop of single-head attentions', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, async ({ Hkv, dh, T, seed }) => {
      const H = Hkv;
      const mha = new GroupedQueryAttention(opts(H, H, dh, seed));
      const x = seeded(seed)([2, T, 6]);
      // Each head separately, as a 1-head module whose weights are that head's slices.
      let acc: Tensor | null = null;
      for (let h = 0; h < H; h++) {
        const one = new GroupedQueryAttention(opts(1, 1, dh, seed));
        noGrad(() => {
          for (const n of ['q_proj', 'k_proj', 'v_proj'] as const) one[n]!.weight.copy_(mha[n]!.weight.narrow(0, h * dh, dh));
          one.o_proj.weight.copy_(mha.o_proj.weight.narrow(1, h * dh, dh));
        });
        const y = one.forward(x);
        acc = acc ? acc.add(y) : y;
      }
      expectClose(await mha.forward(x).data(), await acc!.data(), tol, 'MHA = Σ heads');
    }), { numRuns: 8 });
  });

  it('numKvHeads = numHeads equals torch-semantics MultiheadAttention with the same weights (causal via attnMask)', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, async ({ Hkv, T, seed }) => {
      const H = Hkv * 2;
      const gqa = new GroupedQueryAttention({ hiddenSize: 8, numHeads: H, rope: null, dtype: testFloat(), generator: new Generator(seed) });
      const mha = new MultiheadAttention(8, H, { bias: false, batchFirst: true, dtype: testFloat() });
      mha.loadStateDict({
        in_proj_weight: cat([gqa.q_proj.weight, gqa.k_proj!.weight, gqa.v_proj!.weight], 0),
        'out_proj.weight': gqa.o_proj.weight,
      });
      const x = seeded(seed)([2, T, 8]);
      const blocked = causalMask(T, T).logicalNot();
      expectClose(await gqa.forward(x).data(), await mha.forward(x, x, x, { attnMask: blocked, needWeights: false })[0].data(), tol, 'GQA(H_kv = H) = MHA');
    }), { numRuns: 6 });
  });

  it('group mapping ⌊h/g⌋: GQA ≡ MHA whose K/V heads are repeat_interleaved copies', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, async ({ Hkv, g, dh, T, seed }) => {
      const H = Hkv * g;
      const gqa = new GroupedQueryAttention(opts(H, Hkv, dh, seed));
      const mha = new GroupedQueryAttention(opts(H, H, dh, seed));
      const rep = (w: Tensor) => w.unflatten(0, [Hkv, dh]).repeatInterleave(g, 0).flatten(0, 1);
      noGrad(() => {
        mha.q_proj.weight.copy_(gqa.q_proj.weight);
        mha.o_proj.weight.copy_(gqa.o_proj.weight);
        mha.k_proj!.weight.copy_(rep(gqa.k_proj!.weight));
        mha.v_proj!.weight.copy_(rep(gqa.v_proj!.weight));
      });
      const x = seeded(seed)([1, T, 6]);
      expectClose(await gqa.forward(x).data(), await mha.forward(x).data(), tol, 'GQA mapping');
      // ... and the MHA checkpoint converts back exactly (identical K/V within each group).
      expectClose(await convertMhaToGqa(mha, Hkv).forward(x).data(), await gqa.forward(x).data(), tol, 'conversion exactness');
    }), { numRuns: 10 });
  });

  it('MQA ≡ GQA with one KV head; its cache holds [B, 1, S, d_h]', async () => {
    setBackend(backend);
    const mqa = new MultiQueryAttention({ hiddenSize: 6, numHeads: 3, headDim: 2, dtype: testFloat(), generator: new Generator(1) });
    const gqa = new GroupedQueryAttention({ hiddenSize: 6, numHeads: 3, numKvHeads: 1, headDim: 2, dtype: testFloat() });
    gqa.loadStateDict(mqa.stateDict());
    const x = seeded(2)([2, 4, 6]);
    expectClose(await mqa.forward(x).data(), await gqa.forward(x).data(), tolFor(testFloat()), 'MQA = GQA-1');
    const cache = mqa.createCache();
    const upd = cache.update(seeded(3)([2, 1, 4, 2]), seeded(4)([2, 1, 4, 2]));
    expect(upd.keys.shape).toEqual([2, 1, 4, 2]);
    expect(mqa.kvCacheElementsPerToken()).toBe(2 * 2);
    expect(cache.bytesPerToken()).toBe(2 * 2 * (testFloat() === 'float64' ? 8 : 4));
  });

  it('MHA → GQA conversion mean-pools contiguous groups of K/V heads; Q and O are untouched', async () => {
    setBackend(backend);
    const mha = new GroupedQueryAttention({ hiddenSize: 8, numHeads: 4, headDim: 2, bias: true, dtype: testFloat(), generator: new Generator(3) });
    const sd = convertMhaToGqaStateDict(mha.stateDict(), { numHeads: 4, numKvHeads: 2 });
    expect(sd['k_proj.weight']!.shape).toEqual([4, 8]);
    expect(sd['v_proj.bias']!.shape).toEqual([4]);
    expect(sd['q_proj.weight']).toBe(mha.q_proj.weight);
    const w = mha.k_proj!.weight;
    const expected = w.narrow(0, 0, 2).add(w.narrow(0, 2, 2)).div(2); // heads 0 and 1 → KV head 0
    expectClose(await sd['k_proj.weight']!.narrow(0, 0, 2).data(), await expected.data(), tolFor(testFloat()), 'mean of the group');
    expect(() => meanPoolHeads(w, 4, 3)).toThrow(/positive divisor/);
    const gqa = convertMhaToGqa(mha, 2);
    expect(gqa.numKvHeads).toBe(2);
    expect(gqa.k_proj!.bias).not.toBeNull();
  });

  it('rejects a head count that is not a multiple of the KV heads, and a wrong input width', () => {
    setBackend(backend);
    expect(() => new GroupedQueryAttention({ hiddenSize: 8, numHeads: 4, numKvHeads: 3 })).toThrow(/numHeads 4 must be a multiple of numKvHeads 3/);
    expect(() => new GroupedQueryAttention({ hiddenSize: 8, numHeads: 3 })).toThrow(/pass headDim/);
    const attn = new GroupedQueryAttention({ hiddenSize: 8, numHeads: 2 });
    expect(() => attn.forward(seeded(1)([2, 3, 6]))).toThrow(/input must be \[batch, tokens, 8\], got \[2, 3, 6\]/);
  });

  it.runIf(hasFloat64(backend))('gradcheck in float64: input and every parameter (GQA with RoPE and biases)', async () => {
    setBackend(backend);
    const attn = new GroupedQueryAttention({ hiddenSize: 4, numHeads: 2, numKvHeads: 1, headDim: 2, bias: true, dtype: 'float64', generator: new Generator(4), init: { normal: 0.5 } });
    const x = seeded(9, 'float64')([1, 3, 4]).requiresGrad_();
    await gradcheck((x) => attn.forward(x!), [x]);
    await checkParameterGradients(attn, () => attn.forward(x));
  });
});
