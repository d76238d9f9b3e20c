/**
 * The fused Adam/AdamW kernel against core's composed update on the reference backend: the same arithmetic in
 * the same order, so the results must agree bit for bit, for both float dtypes, every variant, vector and scalar
 * tails, offset views, and a tensor large enough to be split over two threads.
 */
import { adamStep_, noGrad, tensor, type AdamStepHyper, type Tensor } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { getNumThreads, setNumThreads } from '../src/index.js';

const VARIANTS: Partial<AdamStepHyper>[] = [{}, { weightDecay: 0.1 }, { weightDecay: 0.1, decoupled: true }, { maximize: true, weightDecay: 0.05 }];

async function steps(device: string, dtype: 'float32' | 'float64', n: number, opts: Partial<AdamStepHyper>): Promise<number[][]> {
  const wave = (seed: number) => Array.from({ length: n + 1 }, (_, i) => Math.sin(i * 12.9898 + seed) * 3);
  // narrow(…, 1, n): views at an element offset, so SIMD loads are not 16-byte aligned.
  const make = (data: number[]) => tensor(data, { device, dtype }).narrow(0, 1, n);
  const [p, m, v] = [make(wave(1)), make(new Array(n + 1).fill(0)), make(new Array(n + 1).fill(0))] as Tensor[];
  for (let step = 1; step <= 3; step++) {
    const h: AdamStepHyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, maximize: false, lr: 0.01, ...opts, stepSize: 0.01 / (1 - 0.9 ** step), bc2Sqrt: Math.sqrt(1 - 0.999 ** step) };
    noGrad(() => adamStep_(p!, make(wave(step + 5)), m!, v!, h));
  }
  return Promise.all([p!, m!, v!].map(async (t) => Array.from(await t.data())));
}

describe('cpu fused adamStep', () => {
  it.each(['float32', 'float64'] as const)('matches the composed update exactly (%s)', async (dtype) => {
    for (const opts of VARIANTS)
      for (const n of [1, 3, 37]) expect(await steps('cpu', dtype, n, opts)).toEqual(await steps('reference', dtype, n, opts));
  });

  it('matches when split over two threads', async () => {
    const before = getNumThreads();
    setNumThreads(2);
    try {
      expect(await steps('cpu', 'float32', 300_001, { weightDecay: 0.1, decoupled: true })).toEqual(await steps('reference', 'float32', 300_001, { weightDecay: 0.1, decoupled: true }));
    } finally {
      setNumThreads(before);
    }
  });
});
