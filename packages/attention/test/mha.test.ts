/** MultiheadAttention: torch.nn.MultiheadAttention parity (weights loaded from its state dict) and spec §3.5 tests. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Generator, grad, setBackend, ShapeError, tensor, type Tensor } from '@tessera/core';
import { gradcheck } from '@tessera/core/testing';
import { MultiheadAttention, type MultiheadAttentionOptions } from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkParameterGradients, fixture, fromFT, numbers, seeded, stateFrom, testFloat, tolFor, type FT } from './helpers.js';

interface MhaCase {
  name: string;
  config: { embedDim: number; numHeads: number; kdim: number; vdim: number; batchFirst: boolean; bias: boolean; addBiasKv: boolean; addZeroAttn: boolean };
  call: { needWeights: boolean; averageAttnWeights: boolean };
  state: Record<string, FT>;
  query: FT;
  key: FT;
  value: FT;
  masks: { keyPaddingMask?: FT; attnMask?: FT };
  out: FT;
  weights: FT | null;
  upstream: FT;
  inputGrads: FT[];
  paramGrads: Record<string, FT>;
}

const cases = fixture<MhaCase[]>('mha.json');

const build = (c: MhaCase['config'], dtype: MultiheadAttentionOptions['dtype']) =>
  new MultiheadAttention(c.embedDim, c.numHeads, { ...c, dtype });

describe.each(BACKENDS)('MultiheadAttention vs torch.nn.MultiheadAttention (%s)', (backend) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    setBackend(backend);
    const dtype = testFloat();
    const tol = tolFor(dtype);
    const mha = build(c.config, dtype);
    // strict: our parameter names and shapes must equal torch's state_dict.
    mha.loadStateDict(stateFrom(c.state));
    const [q, k, v] = [fromFT(c.query), fromFT(c.key), fromFT(c.value)].map((t) => t.requiresGrad_()) as [Tensor, Tensor, Tensor];
    const [out, weights] = mha.forward(q, k, v, {
      ...c.call,
      keyPaddingMask: c.masks.keyPaddingMask ? fromFT(c.masks.keyPaddingMask) : null,
      attnMask: c.masks.attnMask ? fromFT(c.masks.attnMask) : null,
    });
    expect(out.shape).toEqual(c.out.shape);
    expectClose(await out.data(), numbers(c.out), tol, 'output');
    if (c.weights) {
      expect(weights!.shape).toEqual(c.weights.shape);
      expectClose(await weights!.data(), numbers(c.weights), tol, 'weights');
    } else expect(weights).toBeNull();
    const params = mha.namedParameters();
    const gs = grad(out, [q, k, v, ...params.map(([, p]) => p)], { gradOutputs: fromFT(c.upstream) });
    for (let i = 0; i < 3; i++) expectClose(await gs[i]!.data(), numbers(c.inputGrads[i]!), tol, `input grad ${i}`);
    expect(params.map(([n]) => n).sort()).toEqual(Object.keys(c.paramGrads).sort());
    for (const [i, [name]] of params.entries()) expectClose(await gs[3 + i]!.data(), numbers(c.paramGrads[name]!), tol, `${name}.grad`);
  });
});

describe.each(BACKENDS)('MultiheadAttention semantics (%s)', (backend) => {
  const cfg = fc.record({ N: fc.integer({ min: 1, max: 2 }), L: fc.integer({ min: 1, max: 3 }), S: fc.integer({ min: 2, max: 4 }), seed: fc.integer({ min: 0, max: 1e6 }) });
  const make = (seed: number, opts: MultiheadAttentionOptions = {}) => new MultiheadAttention(4, 2, { kdim: 3, vdim: 5, batchFirst: true, dtype: testFloat(), generator: new Generator(seed), ...opts });

  it('a padded key j (keyPaddingMask true) is the same as deleting key/value j', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, async ({ N, L, S, seed }) => {
      const mha = make(seed);
      const r = seeded(seed);
      const [q, k, v] = [r([N, L, 4]), r([N, S, 3]), r([N, S, 5])];
      const j = seed % S;
      const pad = tensor(Array.from({ length: N * S }, (_, i) => i % S === j)).reshape([N, S]);
      const keepIdx = tensor(Int32Array.from([...Array(S).keys()].filter((i) => i !== j)));
      const [a] = mha.forward(q, k, v, { keyPaddingMask: pad });
      const [b] = mha.forward(q, k.indexSelect(1, keepIdx), v.indexSelect(1, keepIdx));
      expectClose(await a.data(), await b.data(), tol, 'padding ≡ deletion');
    }), { numRuns: 10 });
  });

  it('bool attnMask m (true = blocked) ≡ float mask −∞ where m', async () => {
    setBackend(backend);
    const mha = make(3);
    const r = seeded(3);
    const [q, k, v] = [r([2, 3, 4]), r([2, 4, 3]), r([2, 4, 5])];
    const m = tensor([[false, true, true, false], [false, false, true, true], [false, true, false, true]]);
    const f = tensor([[0, -Infinity, -Infinity, 0], [0, 0, -Infinity, -Infinity], [0, -Infinity, 0, -Infinity]], { dtype: testFloat() });
    expectClose(await mha.forward(q, k, v, { attnMask: m })[0].data(), await mha.forward(q, k, v, { attnMask: f })[0].data(), tolFor(testFloat()), 'polarity');
  });

  it('self-attention is permutation-equivariant', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, async ({ N, S, seed }) => {
      const mha = make(seed, { kdim: 4, vdim: 4 });
      const x = seeded(seed)([N, S, 4]);
      const perm = tensor(Int32Array.from([...Array(S).keys()].reverse()));
      const [a] = mha.forward(x, x, x);
      const [b] = mha.forward(x.indexSelect(1, perm), x.indexSelect(1, perm), x.indexSelect(1, perm));
      expectClose(await a.indexSelect(1, perm).data(), await b.data(), tol, 'equivariance');
    }), { numRuns: 8 });
  });

  it('per-head decomposition: out = b_O + Σ_h O_h·(W_Oᵀ)[h·d_h:(h+1)·d_h], weights average the per-head ones', async () => {
    setBackend(backend);
    const mha = make(5);
    const r = seeded(5);
    const [q, k, v] = [r([2, 3, 4]), r([2, 4, 3]), r([2, 4, 5])];
    const [out, avg] = mha.forward(q, k, v);
    const [, perHead] = mha.forward(q, k, v, { averageAttnWeights: false });
    expect(perHead!.shape).toEqual([2, 2, 3, 4]);
    const tol = tolFor(testFloat());
    expectClose(await avg!.data(), await perHead!.mean(1).data(), tol, 'average');
    expectClose(await perHead!.sum(-1).data(), new Array(12).fill(1), tol, 'rows sum to 1');
    // O_h = A_h V_h with V_h from the v projection's head slice.
    const E = 4, dh = 2;
    const wv = mha.v_proj_weight!, bv = mha.in_proj_bias!.narrow(0, 2 * E, E);
    const wo = mha.out_proj.weight, bo = mha.out_proj.bias!;
    let acc = bo.reshape([1, 1, E]);
    for (let h = 0; h < 2; h++) {
      const Vh = v.matmul(wv.narrow(0, h * dh, dh).t()).add(bv.narrow(0, h * dh, dh));
      const Oh = perHead!.select(1, h).matmul(Vh);
      acc = acc.add(Oh.matmul(wo.narrow(1, h * dh, dh).t()));
    }
    expectClose(await out.data(), await acc.data(), tol, 'decomposition');
  });

  it('addZeroAttn ≡ one extra key with logit 0 and value 0; eval mode ignores dropout', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    const withZero = make(6, { addZeroAttn: true });
    const plain = make(6);
    plain.loadStateDict(withZero.stateDict());
    const r = seeded(6);
    const [q, k, v] = [r([1, 2, 4]), r([1, 3, 3]), r([1, 3, 5])];
    const [, w] = withZero.forward(q, k, v, { averageAttnWeights: false });
    // The zero key's weight is e^0 / (e^0 + Σ e^{s_j}), i.e. it inflates only the denominator.
    const [, w0] = plain.forward(q, k, v, { averageAttnWeights: false });
    expectClose(await w!.narrow(-1, 0, 3).data(), await w0!.mul(w!.narrow(-1, 0, 3).sum(-1, true)).data(), tol, 'renormalised');
    const drop = make(7, { dropout: 0.5 }).eval();
    const ref = make(7);
    expectClose(await drop.forward(q, k, v)[0].data(), await ref.forward(q, k, v)[0].data(), tol, 'eval mode');
  });

  it('initialisation follows PyTorch: Xavier over the packed [3E, E] matrix, zero biases, bias_k/bias_v present', async () => {
    setBackend(backend);
    const mha = new MultiheadAttention(64, 4, { addBiasKv: true, generator: new Generator(1) });
    const bound = Math.sqrt(6 / (64 + 192));
    const w = await mha.in_proj_weight!.data();
    expect(Math.max(...[...w].map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...[...w].map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect([...(await mha.in_proj_bias!.data())].every((x) => x === 0)).toBe(true);
    expect([...(await mha.out_proj.bias!.data())].every((x) => x === 0)).toBe(true);
    expect(Object.keys(mha.stateDict())).toEqual(['in_proj_weight', 'in_proj_bias', 'bias_k', 'bias_v', 'out_proj.weight', 'out_proj.bias']);
  });

  it('rejects mismatched shapes and masks with clear errors', () => {
    setBackend(backend);
    const mha = make(1);
    const r = seeded(1);
    const [q, k, v] = [r([2, 3, 4]), r([2, 4, 3]), r([2, 4, 5])];
    expect(() => mha.forward(q, v, k)).toThrow(/expected query\/key\/value widths 4\/3\/5/);
    expect(() => mha.forward(q, k, v, { attnMask: tensor([[true]]) })).toThrow(ShapeError);
    expect(() => mha.forward(q, k, v, { keyPaddingMask: tensor([[true, false]]) })).toThrow(/keyPaddingMask must be \[N, S\] = \[2, 4\]/);
    expect(() => new MultiheadAttention(5, 2)).toThrow(/divisible/);
  });

  it.runIf(hasFloat64(backend))('gradcheck in float64: inputs and every parameter', async () => {
    setBackend(backend);
    const mha = new MultiheadAttention(4, 2, { kdim: 3, vdim: 2, addBiasKv: true, addZeroAttn: true, dtype: 'float64', generator: new Generator(2) });
    const r = seeded(8, 'float64');
    const [q, k, v] = [r([2, 1, 4]), r([3, 1, 3]), r([3, 1, 2])].map((t) => t.requiresGrad_()) as [Tensor, Tensor, Tensor];
    const pad = tensor([[false, true, false]]);
    await gradcheck((q, k, v) => mha.forward(q!, k!, v!, { keyPaddingMask: pad })[0], [q, k, v]);
    await checkParameterGradients(mha, () => mha.forward(q, k, v, { keyPaddingMask: pad })[0]);
  });
});
