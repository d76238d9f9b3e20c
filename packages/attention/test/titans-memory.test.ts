/** Titans' neural long-term memory (spec §8.9): PyTorch golden values, equivalences, second-order gradients. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cat, Generator, grad, noGrad, randn, rmsNorm, setBackend, tensor, type Tensor } from '@tessera/core';
import { gradcheck, gradgradcheck } from '@tessera/core/testing';
import { linear } from '@tessera/nn';
import { linearAttentionRecurrent } from '../src/linear/index.js';
import { linearScan, linearScanSequential, MemoryMLP, NeuralMemory, type NeuralMemoryOptions, type NeuralMemoryState } from '../src/titans/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkAgainstGolden, goldenDtype, loadCases, type GoldenCase } from './attention6-fixtures.js';

const TOL = { atol: 1e-11, rtol: 1e-9 };
const draw = (seed: number) => {
  const gen = new Generator(seed);
  return (shape: number[], scale = 1) => randn(shape, { dtype: 'float64', generator: gen }).mul(scale);
};
const memory = (over: Partial<NeuralMemoryOptions> = {}) =>
  new NeuralMemory({ dim: 8, heads: 2, chunkSize: 2, memoryExpansion: 2, dtype: 'float64', generator: new Generator(21), ...over });
const allZero = (t: Tensor | null) => t === null || Array.from(t.dataSync()).every((v) => v === 0);

/** k, v, q and θ the memory computes for x (single head, d_h = d, no q/k norm). */
function projections(m: NeuralMemory, x: Tensor) {
  const xs = rmsNorm(x, [m.dim], m.store_norm.weight);
  const xr = rmsNorm(x, [m.dim], m.retrieve_norm.weight);
  return {
    k: linear(xs, m.to_keys.weight),
    v: linear(xs, m.to_values.weight),
    q: linear(xr, m.to_queries.weight),
    theta: linear(xs, m.to_adaptive_step.weight, m.to_adaptive_step.bias).sigmoid().mul(m.maxLearningRate),
  };
}

describe.each(BACKENDS.filter(hasFloat64))('NeuralMemory (%s)', (backend) => {
  it('parallel scan ≡ sequential loop, with broadcast gates and an initial element', () => {
    setBackend(backend);
    fc.assert(
      fc.property(fc.record({ n: fc.integer({ min: 1, max: 9 }), init: fc.boolean(), seed: fc.nat() }), ({ n, init, seed }) => {
        const r = draw(seed);
        const a = r([2, n, 1, 1]).sigmoid();
        const x = r([2, n, 3, 2]);
        const h0 = init ? r([2, 3, 2]) : null;
        expectClose(linearScan(a, x, 1, h0).dataSync(), linearScanSequential(a, x, 1, h0).dataSync(), TOL);
      }),
      { numRuns: 15 },
    );
  });

  it('the scan is differentiable to second order, forwards and in reverse (gradcheck, gradgradcheck)', async () => {
    setBackend(backend);
    const r = draw(31);
    const [a, x, h0] = [r([2, 4, 1]).sigmoid().detach().requiresGrad_(), r([2, 4, 3]).requiresGrad_(), r([2, 3]).requiresGrad_()];
    await gradcheck((a, x, h0) => linearScan(a!, x!, 1, h0), [a, x, h0]);
    await gradgradcheck((a, x, h0) => linearScan(a!, x!, 1, h0), [a, x, h0]);
    await gradcheck((a, x) => linearScan(a!, x!, 1, null, { reverse: true }), [a, x]);
    // Reverse: h_i = a_i h_{i+1} + x_i.
    const rev = linearScan(a, x, 1, h0, { reverse: true });
    const manual = linearScanSequential(a.flip(1), x.flip(1), 1, h0).flip(1);
    expectClose(rev.dataSync(), manual.dataSync(), TOL);
  });

  it('inner gradients: closed form (option B) ≡ autograd (option A), values and outer gradients', () => {
    setBackend(backend);
    for (const opts of [{ depth: 2 }, { depth: 3 }, { depth: 1 }, { depth: 2, residualNorm: false }]) {
      const mm = new MemoryMLP(3, 2, { ...opts, expansion: 2, dtype: 'float64', generator: new Generator(3) });
      const r = draw(4);
      const ws = mm.initialWeights().map((w) => w.unsqueeze(1).add(r([w.shape[0]!, 1, ...w.shape.slice(1)], 0.1)).expand([w.shape[0]!, 2, ...w.shape.slice(1)]));
      const [k, v, c] = [r([2, 2, 5, 3]).requiresGrad_(), r([2, 2, 5, 3]).requiresGrad_(), r([2, 2, 5]).sigmoid()];
      const a = mm.gradient(ws.map((w) => w), k, v, c);
      const b = mm.gradientByAutograd(ws, k, v, c);
      a.forEach((g, i) => expectClose(g.dataSync(), b[i]!.dataSync(), TOL, `inner grad ${i} ${JSON.stringify(opts)}`));
      const la = a.reduce((s, g) => s.add(g.square().sum()), tensor(0, { dtype: 'float64' }));
      const lb = b.reduce((s, g) => s.add(g.square().sum()), tensor(0, { dtype: 'float64' }));
      const [ga, gb] = [grad(la, [k, v], { retainGraph: true }), grad(lb, [k, v])];
      ga.forEach((g, i) => expectClose(g!.dataSync(), gb[i]!.dataSync(), TOL, `outer grad ${i}`));
    }
  });

  it('θ = 0, α = 0 and zero momentum leave the memory unchanged; W_K and W_V get exactly zero gradient', () => {
    setBackend(backend);
    const m = memory({ maxLearningRate: 0, forgetGate: false });
    const x = draw(5)([2, 7, 8]);
    const start = m.initialState(2);
    const { output, state } = m.forwardWithState(x);
    state.weights.forEach((w, i) => expectClose(w.dataSync(), start.weights[i]!.dataSync(), { atol: 0 }, `weights ${i}`));
    expectClose(output.dataSync(), m.retrieve(x, start).dataSync(), TOL, 'retrieval from W_start');
    const [gk, gv, gq] = grad(output.square().sum(), [m.to_keys.weight, m.to_values.weight, m.to_queries.weight], { allowUnused: true });
    expect(allZero(gk!) && allZero(gv!)).toBe(true);
    expect(allZero(gq!)).toBe(false);
    // θ = 0 with α ≠ 0: the memory only decays, W_c = Π(1 − α) W_start; α = 1 erases it: W = S.
    const decayed = m.forwardWithState(x, { gates: { theta: 0, alpha: 0.25 } }).state;
    decayed.weights.forEach((w, i) => expectClose(w.dataSync(), start.weights[i]!.mul(0.75 ** 3).dataSync(), TOL, `decay ${i}`));
    const erased = memory().forwardWithState(x, { gates: { alpha: 1 } }).state;
    erased.weights.forEach((w, i) => expectClose(w.dataSync(), erased.momentum[i]!.dataSync(), { atol: 0 }, `α = 1 ${i}`));
  });

  it('a linear memory from W = 0 with η = α = 0 is unnormalised causal linear attention (chunk-granular)', () => {
    setBackend(backend);
    const r = draw(6);
    for (const C of [1, 2]) {
      const m = new NeuralMemory({ dim: 4, heads: 1, chunkSize: C, memory: 'linear', dtype: 'float64', generator: new Generator(7) });
      noGrad(() => m.memory_model.initialWeights()[0]!.zero_());
      const x = r([2, 6, 4]);
      const theta = 0.3;
      const out = m.forward(x, { gates: { theta, eta: 0, alpha: 0 } });
      const { q, k, v } = projections(m, x);
      const kScaled = k.mul((2 * theta) / 4);
      if (C === 1) {
        const la = linearAttentionRecurrent(q.unsqueeze(1), kScaled.unsqueeze(1), v.unsqueeze(1), null).output.squeeze(1);
        expectClose(out.dataSync(), la.dataSync(), TOL, 'C = 1');
      }
      // r_t = Σ_{s absorbed by t} (2θ/d_h)(q_t·k_s) v_s, absorbed = the ⌊(t+1)/C⌋ complete chunks.
      const rows: Tensor[] = [];
      for (let t = 0; t < 6; t++) {
        const n = Math.floor((t + 1) / C) * C;
        rows.push(n === 0 ? q.narrow(1, t, 1).mul(0) : q.narrow(1, t, 1).matmul(kScaled.narrow(1, 0, n).mT).matmul(v.narrow(1, 0, n)));
      }
      expectClose(out.dataSync(), cat(rows, 1).dataSync(), TOL, `C = ${C}`);
    }
  });

  it('C = b = 1 with η = α = 0 is the delta rule W_t = W_{t−1} − (2θ_t/d_h) k_tᵀ(k_t W_{t−1} − v_t)', () => {
    setBackend(backend);
    const m = new NeuralMemory({ dim: 4, heads: 1, chunkSize: 1, batchSize: 1, memory: 'linear', dtype: 'float64', generator: new Generator(8) });
    const x = draw(9)([1, 5, 4]);
    const { state } = m.forwardWithState(x, { gates: { eta: 0, alpha: 0 } });
    const { k, v, theta } = projections(m, x);
    let W = m.memory_model.initialWeights()[0]!.select(0, 0);
    for (let t = 0; t < 5; t++) {
      const kt = k.select(0, 0).narrow(0, t, 1);
      const err = kt.matmul(W).sub(v.select(0, 0).narrow(0, t, 1));
      W = W.sub(kt.mT.matmul(err).mul(theta.select(0, 0).narrow(0, t, 1).mul(2 / 4)));
    }
    expectClose(state.weights[0]!.reshape([4, 4]).dataSync(), W.dataSync(), TOL);
  });

  it('is causal: outputs before t are unchanged by later tokens (gradient exactly 0)', () => {
    setBackend(backend);
    for (const over of [{}, { chunkSize: 3, batchSize: 3 }] as Partial<NeuralMemoryOptions>[]) {
      const m = memory(over);
      const x = draw(10)([1, 8, 8]).requiresGrad_();
      const out = m.forward(x);
      const [g] = grad(out.narrow(1, 0, 5).sum(), [x]);
      expect(allZero(g!.narrow(1, 5, 3))).toBe(true);
      expect(allZero(g!.narrow(1, 0, 5))).toBe(false);
    }
  });

  it('carries its state: any split into calls (chunk remainders buffered) ≡ one call', () => {
    setBackend(backend);
    for (const over of [{}, { chunkSize: 3, batchSize: 6 }, { chunkSize: 2, batchSize: 4, innerGradient: 'autograd' as const }] as Partial<NeuralMemoryOptions>[]) {
      const m = memory(over);
      const x = draw(11)([2, 11, 8]);
      const full = m.forwardWithState(x);
      for (const parts of [[4, 7], [1, 2, 3, 5], [6, 5], [3, 3, 3, 2]]) {
        let state: NeuralMemoryState | null = null;
        const outs: Tensor[] = [];
        let at = 0;
        for (const L of parts) {
          const r = m.forwardWithState(x.narrow(1, at, L), { state });
          outs.push(r.output);
          state = r.state;
          at += L;
        }
        expectClose(cat(outs, 1).dataSync(), full.output.dataSync(), TOL, `${JSON.stringify(over)} ${parts}`);
        state!.weights.forEach((w, i) => expectClose(w.dataSync(), full.state.weights[i]!.dataSync(), TOL, 'final weights'));
        expect(state!.position).toBe(full.state.position);
      }
    }
  });

  it('memorizes at test time: under noGrad, writing pairs lowers their associative loss; a store mask skips tokens', () => {
    setBackend(backend);
    const m = new NeuralMemory({ dim: 4, heads: 1, chunkSize: 1, memory: 'linear', dtype: 'float64', generator: new Generator(12) });
    const x = draw(13)([1, 6, 4]);
    noGrad(() => {
      const { k, v } = projections(m, x);
      const loss = (s: NeuralMemoryState) => k.matmul(s.weights[0]!.select(0, 0)).sub(v).square().mean().itemSync();
      const before = m.initialState(1);
      const after = m.forwardWithState(x, { gates: { theta: 0.2, eta: 0, alpha: 0 } }).state;
      expect(loss(after)).toBeLessThan(loss(before));
      // Masked tokens are not written: the memory equals the one written with only the unmasked tokens.
      const mask = tensor([[true, false, true, true, false, true]]);
      const masked = m.forwardWithState(x, { gates: { theta: 0.2, eta: 0, alpha: 0 }, storeMask: mask }).state;
      const kept = cat([0, 2, 3, 5].map((t) => x.narrow(1, t, 1)), 1);
      const subset = m.forwardWithState(kept, { gates: { theta: 0.2, eta: 0, alpha: 0 } }).state;
      expectClose(masked.weights[0]!.dataSync(), subset.weights[0]!.dataSync(), TOL, 'store mask');
    });
  });

  it('W_K and W_V gradients are non-zero and pass gradcheck and gradgradcheck (float64)', async () => {
    setBackend(backend);
    const m = new NeuralMemory({ dim: 3, heads: 1, chunkSize: 2, memoryExpansion: 1, dtype: 'float64', generator: new Generator(14) });
    const x = draw(15)([1, 4, 3]);
    const fn = (wk: Tensor, wv: Tensor) => m.forward(x, { params: { 'to_keys.weight': wk, 'to_values.weight': wv } });
    const [wk, wv] = [m.to_keys.weight.detach().clone().requiresGrad_(), m.to_values.weight.detach().clone().requiresGrad_()];
    const [gk, gv] = grad(fn(wk, wv).square().sum(), [wk, wv]);
    expect(allZero(gk!) || allZero(gv!)).toBe(false);
    await gradcheck((a, b) => fn(a!, b!), [wk, wv], { atol: 1e-6, rtol: 1e-4 });
    await gradgradcheck((a, b) => fn(a!, b!), [wk, wv], null, { atol: 1e-5, rtol: 1e-3 });
  });

  it('gradcheck w.r.t. W^(0), the gate projections and W_Q (depth-2 memory, mini-batches)', async () => {
    setBackend(backend);
    const m = new NeuralMemory({ dim: 3, heads: 1, chunkSize: 1, batchSize: 2, memoryExpansion: 1, dtype: 'float64', generator: new Generator(16) });
    const x = draw(17)([1, 3, 3]);
    const names = ['memory_model.w0', 'memory_model.w1', 'memory_model.gamma', 'to_adaptive_step.weight', 'to_momentum.weight', 'to_decay_factor.weight', 'to_queries.weight'];
    const table = new Map(m.namedParameters());
    const inputs = names.map((n) => table.get(n)!.detach().clone().requiresGrad_());
    await gradcheck((...ts) => m.forward(x, { params: Object.fromEntries(names.map((n, i) => [n, ts[i]!])) }), inputs, { atol: 1e-6, rtol: 1e-4 });
  });
});

describe.each(BACKENDS)('NeuralMemory vs PyTorch (%s)', (backend) => {
  const golden = loadCases<GoldenCase<NeuralMemoryOptions & { memoryDepth: number }>>('titans.json');
  it.each(golden.map((c) => [c.name, c] as const))('matches the PyTorch reference through double backward: %s', async (_n, c) => {
    setBackend(backend);
    for (const innerGradient of ['analytic', 'autograd'] as const) {
      const m = new NeuralMemory({ ...c.config, innerGradient, dtype: goldenDtype() });
      await checkAgainstGolden(m, c, (x) => m.forward(x));
    }
  });
});
