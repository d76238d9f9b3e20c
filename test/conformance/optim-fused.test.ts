/**
 * adamStep_ (the op behind Adam/AdamW): a backend's fused kernel, where it has one, must give the composed update's
 * numbers. Each backend runs several steps with changing gradients and is compared with the reference backend's
 * composed update in float64.
 */
import { describe, expect, it } from 'vitest';
import { adamStep_, noGrad, tensor, type AdamStepHyper, type Tensor } from '@tessera/core';
import { BACKENDS, hasFloat64 } from '../support/backends.js';
import { lcg } from './helpers.js';

const VARIANTS: [string, Partial<AdamStepHyper>][] = [
  ['Adam', {}],
  ['Adam with L2 weight decay', { weightDecay: 0.1 }],
  ['AdamW', { weightDecay: 0.1, decoupled: true }],
  ['maximize', { maximize: true, weightDecay: 0.05 }],
];

async function run(device: string, dtype: 'float32' | 'float64', opts: Partial<AdamStepHyper>, layout: 'contiguous' | 'transposed'): Promise<Float64Array[]> {
  let seed = 7;
  const values = (n: number) => lcg(seed++, n);
  const shape = [5, 7];
  const make = (data: number[]) => {
    const flat = tensor(data, { device, dtype });
    return layout === 'transposed' ? flat.reshape([7, 5]).mT : flat.reshape(shape);
  };
  const [p, m, v] = [make(values(35)), make(new Array(35).fill(0)), make(new Array(35).fill(0))] as Tensor[];
  const [b1, b2] = [0.9, 0.999];
  for (let step = 1; step <= 4; step++) {
    const g = make(values(35));
    const h: AdamStepHyper = { beta1: b1, beta2: b2, eps: 1e-8, weightDecay: 0, decoupled: false, maximize: false, lr: 0.01, ...opts, stepSize: 0.01 / (1 - b1 ** step), bc2Sqrt: Math.sqrt(1 - b2 ** step) };
    noGrad(() => adamStep_(p!, g, m!, v!, h));
    g.dispose();
  }
  return Promise.all([p!, m!, v!].map(async (t) => Float64Array.from(await t.contiguous().data())));
}

describe.each(BACKENDS)('adamStep_ on %s', (device) => {
  const dtype = hasFloat64(device) ? 'float64' : 'float32';
  it.each(VARIANTS)('%s: the fused (or composed) update matches the composed float64 reference', async (_name, opts) => {
    for (const layout of ['contiguous', 'transposed'] as const) {
      const want = await run('reference', 'float64', opts, layout);
      const [got, got32] = await Promise.all([run(device, dtype, opts, layout), run(device, 'float32', opts, layout)]);
      for (let k = 0; k < 3; k++)
        for (let i = 0; i < want[k]!.length; i++) {
          expect(got[k]![i]).toBeCloseTo(want[k]![i]!, dtype === 'float64' ? 10 : 5);
          expect(Math.abs(got32[k]![i]! - want[k]![i]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[k]![i]!)));
        }
    }
  });

  it('rejects mismatched shapes and dtypes with the op named', () => {
    const p = tensor([1, 2, 3], { device });
    const h: AdamStepHyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, maximize: false, lr: 0.1, stepSize: 1, bc2Sqrt: 1 };
    expect(() => noGrad(() => adamStep_(p, tensor([1, 2], { device }), tensor([0, 0, 0], { device }), tensor([0, 0, 0], { device }), h))).toThrow(/adamStep_.*shape/);
    expect(() => noGrad(() => adamStep_(p, tensor([1, 2, 3], { device, dtype: 'int32' }), tensor([0, 0, 0], { device }), tensor([0, 0, 0], { device }), h))).toThrow(/adamStep_.*dtype/);
  });
});
