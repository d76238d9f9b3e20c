/** MoH — Mixture-of-Head attention (spec §6.8): PyTorch golden values, reductions to MHA, gates, loss, decoding. */
import { describe, expect, it } from 'vitest';
import { cat, Generator, grad, noGrad, randn, setBackend, zeros, type Tensor } from '@tessera/core';
import { Module, normal_ } from '@tessera/nn';
import { GroupedQueryAttention } from '../src/grouped.js';
import { causalMask } from '../src/masks.js';
import {
  convertToMixtureOfHeads, MixtureOfHeadsAttention, mohAuxiliaryLoss, mohHeadsFromRatio, mohRoute, resetRouters,
  type MixtureOfHeadsAttentionOptions,
} from '../src/moh/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkAgainstGolden, goldenDtype, loadCases, TOL32, type FT, type GoldenCase } from './attention6-fixtures.js';

const TOL = { atol: 1e-11, rtol: 1e-9 };
const draw = (seed: number) => {
  const gen = new Generator(seed);
  return (shape: number[], scale = 1) => randn(shape, { dtype: 'float64', generator: gen }).mul(scale);
};
const moh = (over: Partial<MixtureOfHeadsAttentionOptions> = {}) =>
  new MixtureOfHeadsAttention({ hiddenSize: 16, numHeads: 4, numKvHeads: 2, sharedHeads: 2, routedTopK: 1, init: { normal: 0.3 }, routerStd: 0.5, dtype: 'float64', generator: new Generator(11), ...over });

type MoHCase = GoldenCase<{ hiddenSize: number; numHeads: number; numKvHeads: number; sharedHeads: number; routedTopK: number }> & { gates: FT; balanceLoss: number | null };

describe.each(BACKENDS.filter(hasFloat64))('MixtureOfHeadsAttention (%s)', (backend) => {
  it('reduces to MHA/GQA: zero routers with K = h_r (all gates 1), and h_s = h with W_s = 0', () => {
    setBackend(backend);
    const x = draw(1)([2, 5, 16]);
    for (const counts of [{ sharedHeads: 2, routedTopK: 2 }, { sharedHeads: 1, routedTopK: 3 }, { sharedHeads: 0, routedTopK: 4 }, { sharedHeads: 4, routedTopK: 0 }]) {
      const m = moh({ ...counts, routerStd: 0 });
      const host = new GroupedQueryAttention({ hiddenSize: 16, numHeads: 4, numKvHeads: 2, dtype: 'float64' });
      host.loadStateDict(Object.fromEntries(Object.entries(m.stateDict()).filter(([k]) => !k.startsWith('wg'))));
      const r = m.forwardWithRouting(x);
      expectClose(r.routing.gates.dataSync(), new Array(2 * 5 * 4).fill(1), { atol: 1e-15 }, `gates ${JSON.stringify(counts)}`);
      expectClose(r.output.dataSync(), host.forward(x).dataSync(), TOL, `output ${JSON.stringify(counts)}`);
    }
  });

  it("paper formulation with a uniform router scales head blocks by 1/(2h_s) and 1/(2h_r)", () => {
    setBackend(backend);
    const x = draw(2)([1, 4, 16]);
    const m = moh({ sharedHeads: 2, routedTopK: 2, routerStd: 0, formulation: 'paper' });
    const gates = m.forwardWithRouting(x).routing.gates;
    expectClose(gates.dataSync(), new Array(4 * 4).fill(0.25), { atol: 1e-15 });
  });

  it('per-head decomposition, gate sums and exact zeros for unselected heads', () => {
    setBackend(backend);
    const m = moh({ numKvHeads: 4, sharedHeads: 1, routedTopK: 2, rope: null });
    const x = draw(3)([1, 6, 16]);
    const { output, routing } = m.forwardWithRouting(x);
    // Σ routed gates = K·a2, Σ shared gates = h_s·a1 with a1 + a2 = 2.
    const routedSum = routing.gates.narrow(-1, 1, 3).sum(-1);
    const a = m.wg_0!.forward(x).softmax(-1).mul(2);
    expectClose(routedSum.dataSync(), a.narrow(-1, 1, 1).mul(2).dataSync(), TOL, 'routed sum = K·a2');
    expectClose(routing.gates.narrow(-1, 0, 1).dataSync(), a.narrow(-1, 0, 1).dataSync(), TOL, 'h_s = 1: shared gate = a1');
    const activeCount = routing.active.to('float64').sum(-1);
    expectClose(activeCount.dataSync(), new Array(6).fill(3), { atol: 0 }, 'h_s + K active');
    // Y_t = Σ_i gates_{t,i} · O_{t,i} W_O^{(i)} (no output bias).
    const dense = new GroupedQueryAttention({ hiddenSize: 16, numHeads: 4, rope: null, dtype: 'float64' });
    dense.loadStateDict(Object.fromEntries(Object.entries(m.stateDict()).filter(([k]) => !k.startsWith('wg'))));
    const q = m.q_proj.forward(x).unflatten(-1, [4, 4]).transpose(1, 2);
    const k = m.k_proj.forward(x).unflatten(-1, [4, 4]).transpose(1, 2);
    const v = m.v_proj.forward(x).unflatten(-1, [4, 4]).transpose(1, 2);
    const heads = q.matmul(k.mT).mul(0.5).maskedFill(causalMask(6, 6).logicalNot(), -Infinity).softmax(-1).matmul(v);
    let y = zeros([1, 6, 16], { dtype: 'float64' });
    for (let i = 0; i < 4; i++) {
      const block = m.o_proj.weight.narrow(1, 4 * i, 4); // [d, d_h]
      y = y.add(heads.select(1, i).mul(routing.gates.narrow(-1, i, 1)).matmul(block.mT));
    }
    expectClose(output.dataSync(), y.dataSync(), TOL, 'decomposition');
  });

  it("an unselected head's query has no effect on the token's output and gets exactly zero gradient", () => {
    setBackend(backend);
    const m = moh({ numKvHeads: 4, sharedHeads: 1, routedTopK: 1, rope: null });
    const x = draw(4)([1, 5, 16]);
    const { routing } = m.forwardWithRouting(x);
    const selected = Array.from(routing.selected!.dataSync());
    const t = 2;
    const unselected = [0, 1, 2].find((i) => i !== selected[t])! + 1; // routed head index → head index
    // Perturb the query rows of that head through a hook on q_proj's output.
    const q = m.q_proj.forward(x).detach().requiresGrad_();
    const orig = m.q_proj.forward.bind(m.q_proj);
    m.q_proj.forward = () => q;
    const out = m.forward(x);
    m.q_proj.forward = orig;
    const [gq] = grad(out.narrow(1, t, 1).sum(), [q]);
    const g = gq!.narrow(1, t, 1).narrow(2, unselected * 4, 4);
    expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(gq!.narrow(1, t, 1).narrow(2, 0, 4).dataSync()).some((v) => v !== 0)).toBe(true);
  });

  it('balance loss: L_b = K for uniform routing with balanced selection; gradient only through P; training only', () => {
    setBackend(backend);
    // Four tokens, h_r = 4, K = 1: uniform p and each head selected by one token → L_b = h_r · Σ (1/4)(1/4) = 1 = K.
    const x = draw(5)([1, 4, 8]);
    const w = draw(6)([4, 8], 1e-9); // tiny router: p ≈ uniform, ties broken by the noise
    const r = mohRoute(x, { wg: w, wg_0: null, wg_1: null }, { numHeads: 4, sharedHeads: 0, routedTopK: 1 }, { balanceLoss: true });
    const f = r.active.to('float64').mean(1);
    expectClose(r.balanceLoss!.itemSync(), 4 * f.mul(0.25).sum().itemSync(), { atol: 1e-8 });
    // Gradient flows into W_r only through P (f is a constant): compare with h_r · Σ P_i f_i with f detached.
    const wg = draw(7)([4, 8]).requiresGrad_();
    const r2 = mohRoute(x, { wg, wg_0: null, wg_1: null }, { numHeads: 4, sharedHeads: 0, routedTopK: 2 }, { balanceLoss: true });
    const fConst = r2.active.to('float64').reshape([-1, 4]).mean(0);
    const manual = x.matmul(wg.mT).softmax(-1).reshape([-1, 4]).mean(0).mul(fConst).sum().mul(4);
    expectClose(grad(r2.balanceLoss!, [wg])[0]!.dataSync(), grad(manual, [wg])[0]!.dataSync(), TOL);
    // Uniform router (all probabilities equal) with K = h_r: L_b = K exactly.
    const r3 = mohRoute(x, { wg: zeros([4, 8], { dtype: 'float64' }), wg_0: null, wg_1: null }, { numHeads: 4, sharedHeads: 0, routedTopK: 4 }, { balanceLoss: true });
    expectClose(r3.balanceLoss!.itemSync(), 4, { atol: 1e-14 });
    // Eval mode records no loss; the collector averages layers and applies β.
    const m = moh();
    m.forward(draw(8)([1, 3, 16]));
    const lb = m.balanceLoss!.itemSync();
    class Two extends Module {
      a = moh();
      b = moh({ routedTopK: 2 });
    }
    const two = new Two();
    two.a.forward(draw(8)([1, 3, 16]));
    two.b.forward(draw(8)([1, 3, 16]));
    const expected = (0.01 * (two.a.balanceLoss!.itemSync() + two.b.balanceLoss!.itemSync())) / 2;
    const aux = mohAuxiliaryLoss(two, { coefficient: 0.01, clear: true })!;
    expectClose(aux.itemSync(), expected, { atol: 1e-15 });
    expect(two.a.balanceLoss).toBeNull();
    expect(lb).toBeGreaterThan(0);
    m.eval();
    m.forward(draw(8)([1, 3, 16]));
    expect(m.balanceLoss).toBeNull();
    expect(mohAuxiliaryLoss(m)).toBeNull();
  });

  it('sparse single-token decoding (only active heads computed) ≡ dense decoding ≡ full forward', () => {
    setBackend(backend);
    for (const over of [{}, { numKvHeads: 4, sharedHeads: 0, routedTopK: 2 }, { bias: true }] as Partial<MixtureOfHeadsAttentionOptions>[]) {
      const m = moh(over);
      if (over.bias) noGrad(() => [m.q_proj.bias!, m.o_proj.bias!].forEach((b) => normal_(b, 0, 0.3)));
      m.eval();
      const x = draw(9)([2, 6, 16]);
      const full = m.forward(x);
      for (const sparse of [true, false]) {
        const cache = m.createCache();
        const outs: Tensor[] = [];
        noGrad(() => {
          outs.push(m.forward(x.narrow(1, 0, 2), { cache }));
          for (let t = 2; t < 6; t++) outs.push(m.forward(x.narrow(1, t, 1), { cache, sparse }));
        });
        expectClose(cat(outs, 1).dataSync(), full.dataSync(), TOL, `sparse=${sparse} ${JSON.stringify(over)}`);
      }
    }
  });

  it('tracks per-head usage and derives head counts from an activation ratio', () => {
    setBackend(backend);
    const m = moh({ sharedHeads: 1, routedTopK: 1 });
    m.forward(draw(10)([2, 5, 16]));
    const { fractions, tokens } = m.headUsage();
    expect(tokens).toBe(10);
    const f = Array.from(fractions.dataSync());
    expect(f[0]).toBe(1);
    expectClose(f.slice(1).reduce((a, b) => a + b, 0), 1, { atol: 1e-12 });
    m.resetHeadUsage();
    expect(m.headUsage().tokens).toBe(0);
    expect(mohHeadsFromRatio(8, 0.75)).toEqual({ numHeads: 8, sharedHeads: 3, routedTopK: 3 });
    expect(mohHeadsFromRatio(32, 0.75, 0.667)).toEqual({ numHeads: 32, sharedHeads: 16, routedTopK: 8 });
    expect(mohHeadsFromRatio(4, 1)).toEqual({ numHeads: 4, sharedHeads: 4, routedTopK: 0 });
    const byRatio = moh({ sharedHeads: undefined, routedTopK: undefined, activationRatio: 0.5 });
    expect(byRatio.activationRatio).toBe(0.5);
    expect(m.kvCacheElementsPerToken()).toBe(2 * 2 * 4);
    expect(m.flopsPerToken(10, 'sparse')).toBeLessThan(m.flopsPerToken(10, 'dense'));
  });

  it('converts a trained GQA module: exact with K = h_r, heads dropped otherwise; continues training', () => {
    setBackend(backend);
    const src = new GroupedQueryAttention({ hiddenSize: 16, numHeads: 4, numKvHeads: 2, init: { normal: 0.3 }, dtype: 'float64', generator: new Generator(12) });
    const x = draw(13)([2, 5, 16]);
    const exact = convertToMixtureOfHeads(src, { sharedHeads: 2, routedTopK: 2, routerStd: 0 });
    expectClose(exact.forward(x).dataSync(), src.forward(x).dataSync(), TOL, 'exact conversion');
    const sparse = convertToMixtureOfHeads(src, { sharedHeads: 2, routedTopK: 1, generator: new Generator(14) });
    expect(sparse.wg!.weight.shape).toEqual([2, 16]);
    expect(sparse.wg_0!.weight.shape).toEqual([2, 16]);
    expect(sparse.wg_1!.weight.shape).toEqual([2, 16]);
    const y = sparse.forward(x);
    const loss = y.square().mean().add(mohAuxiliaryLoss(sparse)!);
    const grads = grad(loss, sparse.parameters(), { allowUnused: true });
    expect(grads.every((g) => g !== null)).toBe(true);
    resetRouters(sparse, 0);
    expectClose(sparse.forwardWithRouting(x).routing.gates.narrow(-1, 0, 2).dataSync(), new Array(20).fill(1), { atol: 1e-15 });
    expect(() => convertToMixtureOfHeads(new GroupedQueryAttention({ hiddenSize: 16, numHeads: 4, slidingWindow: 3 }))).toThrow(/sliding window/);
  });

  it('rejects invalid head counts with clear errors', () => {
    setBackend(backend);
    expect(() => moh({ sharedHeads: 5 })).toThrow(/sharedHeads/);
    expect(() => moh({ sharedHeads: 2, routedTopK: 3 })).toThrow(/routedTopK/);
    expect(() => moh({ sharedHeads: 2, routedTopK: 0 })).toThrow(/routed heads unused/);
    expect(() => moh({ sharedHeads: 1, routedTopK: 0, numHeads: 1, numKvHeads: 1 })).toThrow(/sharedHeads ≥ 2/);
  });
});

describe.each(BACKENDS)('MixtureOfHeadsAttention vs PyTorch (%s)', (backend) => {
  const golden = loadCases<MoHCase>('moh.json');
  it.each(golden.map((c) => [c.name, c] as const))('matches the PyTorch reference (output, gates, L_b, gradients): %s', async (_n, c) => {
    setBackend(backend);
    const m = new MixtureOfHeadsAttention({ ...c.config, dtype: goldenDtype() });
    let routing = null as ReturnType<MixtureOfHeadsAttention['forwardWithRouting']>['routing'] | null;
    await checkAgainstGolden(m, c, (x) => {
      const r = m.forwardWithRouting(x);
      routing = r.routing;
      return r.output;
    }, () => m.balanceLoss);
    const tol = goldenDtype() === 'float64' ? TOL : TOL32;
    expectClose(await routing!.gates.data(), c.gates.data, tol, 'gates');
    if (c.balanceLoss === null) expect(m.balanceLoss).toBeNull();
    else expectClose(await m.balanceLoss!.item(), c.balanceLoss, tol, 'balance loss');
  });
});
