/** Titans MAC / MAG / MAL (spec §8.5–8.6): PyTorch golden values, decoding, causality, end-to-end training. */
import { describe, expect, it } from 'vitest';
import { cat, Generator, grad, noGrad, randn, setBackend, type Tensor } from '@tessera/core';
import { Adam } from '@tessera/nn';
import {
  detachMemoryState, MemoryAsContext, MemoryAsGate, MemoryAsLayer, persistentWindowMask, PersistentWindowAttention,
  type MemoryAsContextOptions, type SlidingWindowTitansOptions,
} from '../src/titans/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { checkAgainstGolden, goldenDtype, loadCases, type GoldenCase } from './attention6-fixtures.js';

const TOL = { atol: 1e-11, rtol: 1e-9 };
const draw = (seed: number) => {
  const gen = new Generator(seed);
  return (shape: number[], scale = 1) => randn(shape, { dtype: 'float64', generator: gen }).mul(scale);
};
type Layer = MemoryAsContext | MemoryAsGate | MemoryAsLayer;
const memoryOpts = { heads: 2, headDim: 4, chunkSize: 2, memoryExpansion: 2 };
const builders: Record<string, (seed: number) => Layer> = {
  mac: (seed) => new MemoryAsContext({ dim: 8, heads: 2, numPersistent: 2, segmentLength: 3, memory: memoryOpts, dtype: 'float64', generator: new Generator(seed) }),
  mag: (seed) => new MemoryAsGate({ dim: 8, heads: 2, numPersistent: 2, window: 3, memory: memoryOpts, dtype: 'float64', generator: new Generator(seed) }),
  mal: (seed) => new MemoryAsLayer({ dim: 8, heads: 2, numPersistent: 2, window: 3, memory: memoryOpts, dtype: 'float64', generator: new Generator(seed) }),
};
const stepper = (m: Layer) => (x: Tensor, state: unknown) => (m.forwardWithState as (x: Tensor, s: unknown) => { output: Tensor; state: unknown }).call(m, x, state);
const allZero = (t: Tensor) => Array.from(t.dataSync()).every((v) => v === 0);

describe.each(BACKENDS.filter(hasFloat64))('Titans architectures (%s)', (backend) => {
  it.each(Object.keys(builders))('%s: token-by-token and chunked decoding with the carried state ≡ the full forward', (name) => {
    setBackend(backend);
    const m = builders[name]!(1);
    const step = stepper(m);
    const x = draw(2)([2, 8, 8]);
    const full = m.forward(x);
    for (const parts of [[1, 1, 1, 1, 1, 1, 1, 1], [2, 4, 2], [5, 3]]) {
      let state: unknown = null;
      const outs: Tensor[] = [];
      let at = 0;
      noGrad(() => {
        for (const L of parts) {
          const r = step(x.narrow(1, at, L), state);
          outs.push(r.output);
          state = r.state;
          at += L;
        }
      });
      expectClose(cat(outs, 1).dataSync(), full.dataSync(), TOL, `${name} ${parts}`);
    }
  });

  it.each(Object.keys(builders))('%s is causal and trains end to end: memory W_K/W_V get non-zero gradients', (name) => {
    setBackend(backend);
    const m = builders[name]!(3);
    const x = draw(4)([1, 8, 8]).requiresGrad_();
    const out = m.forward(x);
    const [gx] = grad(out.narrow(1, 0, 4).sum(), [x], { retainGraph: true });
    expect(allZero(gx!.narrow(1, 4, 4))).toBe(true);
    const params = m.namedParameters();
    const grads = grad(out.square().sum(), params.map(([, p]) => p), { allowUnused: true });
    const byName = Object.fromEntries(params.map(([n], i) => [n, grads[i]]));
    for (const key of ['memory.to_keys.weight', 'memory.to_values.weight', 'persistent_memory'])
      expect(byName[key] && !allZero(byName[key]!), `${name}: ${key}`).toBe(true);
  });

  it('MAC: retrieved token h_j is visible only to segment positions ≥ j; persistent tokens to all', () => {
    setBackend(backend);
    const m = builders.mac!(5) as MemoryAsContext;
    const x = draw(6)([1, 3, 8]);
    // Perturbing token 2 changes h_2 and x_2 only; outputs 0 and 1 must not move.
    const base = m.forward(x);
    const moved = m.forward(cat([x.narrow(1, 0, 2), x.narrow(1, 2, 1).mul(-3)], 1));
    expectClose(moved.narrow(1, 0, 2).dataSync(), base.narrow(1, 0, 2).dataSync(), TOL);
    expect(m.windowSize()).toBe(2 + 2 * 3);
  });

  it('MAG/MAL attention: persistent keys stay visible beyond the window; the state is bounded', () => {
    setBackend(backend);
    const mask = persistentWindowMask([5, 6], [0, 1, 2, 3, 4, 5, 6], 2, 2);
    expect(Array.from(mask.dataSync(), Number)).toEqual([1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1]);
    const attn = new PersistentWindowAttention({ dim: 8, heads: 2, window: 3, numPersistent: 2, dtype: 'float64' });
    let state = null as ReturnType<PersistentWindowAttention['forwardWithState']>['state'] | null;
    const x = draw(7)([1, 9, 8]);
    noGrad(() => {
      for (let t = 0; t < 9; t++) state = attn.forwardWithState(x.narrow(1, t, 1), state).state;
    });
    expect(state!.positions).toEqual([0, 1, 7, 8]);
  });

  it('MAG learns with Adam across segments (truncated backprop through the carried memory state)', () => {
    setBackend(backend);
    const m = builders.mag!(8) as MemoryAsGate;
    const opt = new Adam(m.parameters(), { lr: 0.02 });
    const x = draw(9)([2, 8, 8]);
    const target = draw(10)([2, 8, 8], 0.5);
    const lossAt = () =>
      noGrad(() => {
        const first = m.forwardWithState(x.narrow(1, 0, 4));
        const second = m.forwardWithState(x.narrow(1, 4, 4), first.state);
        return cat([first.output, second.output], 1).sub(target).square().mean().itemSync();
      });
    const before = lossAt();
    for (let step = 0; step < 5; step++) {
      opt.zeroGrad();
      const first = m.forwardWithState(x.narrow(1, 0, 4));
      const second = m.forwardWithState(x.narrow(1, 4, 4), { attention: first.state.attention, memory: detachMemoryState(first.state.memory!) });
      const loss = cat([first.output, second.output], 1).sub(target).square().mean();
      loss.backward();
      opt.step();
    }
    expect(lossAt()).toBeLessThan(before);
  });
});

describe.each(BACKENDS)('Titans layers vs PyTorch (%s)', (backend) => {
  const golden = loadCases<GoldenCase<MemoryAsContextOptions & SlidingWindowTitansOptions & { memory: { memoryDepth: number } }>>('titans_arch.json');
  it.each(golden.map((c) => [c.name, c] as const))('%s matches the PyTorch reference (output and all gradients)', async (name, c) => {
    setBackend(backend);
    const opts = { ...c.config, memory: { ...c.config.memory }, dtype: goldenDtype() };
    const m = name === 'mac' ? new MemoryAsContext(opts) : name === 'mag' ? new MemoryAsGate(opts) : new MemoryAsLayer(opts);
    await checkAgainstGolden(m, c, (x) => m.forward(x));
  });
});
