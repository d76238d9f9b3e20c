/** Linear attention with decay (Lightning; spec §9.4): the three forms agree, special cases, state carrying, PyTorch. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cat, Generator, noGrad, randn, setBackend, type Tensor } from '@tessera/core';
import { gradcheck } from '@tessera/core/testing';
import {
  LightningAttention, lightningSlopes, linearAttentionChunked, linearAttentionQuadratic, linearAttentionRecurrent,
} from '../src/linear/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkAgainstGolden, goldenDtype, loadCases, type GoldenCase } from './attention6-fixtures.js';

const TOL = { atol: 1e-10, rtol: 1e-9 };
const draw = (seed: number) => {
  const gen = new Generator(seed);
  return (shape: number[], scale = 1) => randn(shape, { dtype: 'float64', generator: gen }).mul(scale);
};

describe.each(BACKENDS.filter(hasFloat64))('linear attention (%s)', (backend) => {
  it('slopes follow the ALiBi schedule, including non-powers of two and layer scaling', () => {
    setBackend(backend);
    expect(lightningSlopes(8)).toEqual(Array.from({ length: 8 }, (_, h) => 2 ** -(h + 1)));
    // H = 6: the 4 power-of-two slopes, then every other slope of the 8-head list (2^-1, 2^-3).
    expect(lightningSlopes(6)).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
    const scaled = lightningSlopes(4, { layerIndex: 1, numLayers: 3 });
    expectClose(scaled, lightningSlopes(4).map((s) => s * (1 - 1 / 2 + 1e-5)), { atol: 0, rtol: 1e-15 });
  });

  it('quadratic ≡ recurrent ≡ chunked for any block size, with and without an initial state', () => {
    setBackend(backend);
    fc.assert(
      fc.property(
        fc.record({ B: fc.integer({ min: 1, max: 2 }), H: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 9 }), dk: fc.integer({ min: 1, max: 4 }), dv: fc.integer({ min: 1, max: 4 }), block: fc.integer({ min: 1, max: 5 }), withState: fc.boolean(), seed: fc.nat() }),
        ({ B, H, T, dk, dv, block, withState, seed }) => {
          const r = draw(seed);
          const [q, k, v] = [r([B, H, T, dk]), r([B, H, T, dk]), r([B, H, T, dv])];
          const initialState = withState ? r([B, H, dk, dv]) : null;
          const slopes = lightningSlopes(H);
          const a = linearAttentionQuadratic(q, k, v, slopes, { initialState });
          const b = linearAttentionRecurrent(q, k, v, slopes, { initialState });
          const c = linearAttentionChunked(q, k, v, slopes, { initialState, blockSize: block });
          for (const [name, x, y] of [['recurrent', b, a], ['chunked', c, a]] as const) {
            expectClose(x.output.dataSync(), y.output.dataSync(), TOL, `${name} output`);
            expectClose(x.state.dataSync(), y.state.dataSync(), TOL, `${name} state`);
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('zero slopes give plain causal linear attention (prefix sums of kᵀv)', () => {
    setBackend(backend);
    const r = draw(3);
    const [q, k, v] = [r([2, 2, 6, 3]), r([2, 2, 6, 3]), r([2, 2, 6, 2])];
    const out = linearAttentionChunked(q, k, v, null, { blockSize: 4 }).output;
    const rows: Tensor[] = [];
    for (let t = 0; t < 6; t++) rows.push(q.narrow(2, t, 1).matmul(k.narrow(2, 0, t + 1).mT.matmul(v.narrow(2, 0, t + 1))));
    expectClose(out.dataSync(), cat(rows, 2).dataSync(), TOL);
  });

  it('is causal: outputs before t ignore tokens at and after t + 1 (gradient exactly 0)', () => {
    setBackend(backend);
    const r = draw(4);
    const [q, k, v] = [r([1, 2, 7, 3]), r([1, 2, 7, 3]).requiresGrad_(), r([1, 2, 7, 3]).requiresGrad_()];
    const out = linearAttentionChunked(q, k, v, lightningSlopes(2), { blockSize: 3 }).output;
    out.narrow(2, 0, 4).sum().backward();
    expect(Array.from(k.grad!.narrow(2, 4, 3).dataSync()).every((g) => g === 0)).toBe(true);
    expect(Array.from(v.grad!.narrow(2, 4, 3).dataSync()).every((g) => g === 0)).toBe(true);
  });

  it('passes gradcheck in float64 (chunked form, q, k, v and the initial state)', async () => {
    setBackend(backend);
    const r = draw(5);
    const ins = [r([1, 2, 5, 2]), r([1, 2, 5, 2]), r([1, 2, 5, 2]), r([1, 2, 2, 2])].map((t) => t.requiresGrad_());
    await gradcheck((q, k, v, s) => {
      const res = linearAttentionChunked(q!, k!, v!, [0.3, 0.05], { blockSize: 2, initialState: s });
      return [res.output, res.state];
    }, ins);
  });

  it('LightningAttention: one call ≡ split calls with the carried state ≡ token-by-token decoding', () => {
    setBackend(backend);
    const gen = new Generator(6);
    const m = new LightningAttention({ hiddenSize: 8, numHeads: 2, blockSize: 3, dtype: 'float64', generator: gen });
    const x = draw(7)([2, 7, 8]);
    const full = m.forwardWithState(x);
    const first = m.forwardWithState(x.narrow(1, 0, 4));
    const second = m.forwardWithState(x.narrow(1, 4, 3), { state: first.state });
    expectClose(cat([first.output, second.output], 1).dataSync(), full.output.dataSync(), TOL, 'split');
    expectClose(second.state.dataSync(), full.state.dataSync(), TOL, 'state');
    let state: Tensor | null = null;
    const steps: Tensor[] = [];
    noGrad(() => {
      for (let t = 0; t < 7; t++) {
        const s = m.forwardWithState(x.narrow(1, t, 1), { state });
        steps.push(s.output);
        state = s.state;
      }
    });
    expectClose(cat(steps, 1).dataSync(), full.output.dataSync(), TOL, 'decode');
    expect(m.stateElements()).toBe(2 * 4 * 4);
    // Every form gives the same module output.
    for (const form of ['quadratic', 'recurrent'] as const) {
      const other = new LightningAttention({ hiddenSize: 8, numHeads: 2, form, dtype: 'float64' });
      other.loadStateDict(m.stateDict());
      expectClose(other.forward(x).dataSync(), full.output.dataSync(), TOL, form);
    }
  });
});

describe.each(BACKENDS)('Lightning attention vs PyTorch (%s)', (backend) => {
  const golden = loadCases<GoldenCase<{ hiddenSize: number; numHeads: number; layerIndex: number; numLayers: number; slopes: number[] }>>('linear.json');
  it.each(golden.map((c) => [c.name, c] as const))('matches the PyTorch TNL block: %s', async (_n, c) => {
    setBackend(backend);
    const { hiddenSize, numHeads, layerIndex, numLayers } = c.config;
    const m = new LightningAttention({ hiddenSize, numHeads, layerIndex, numLayers, blockSize: 3, dtype: goldenDtype() });
    expectClose(m.slopes, c.config.slopes, { atol: 0, rtol: 1e-15 }, 'slopes');
    await checkAgainstGolden(m, c, (x) => m.forward(x));
  });
});
