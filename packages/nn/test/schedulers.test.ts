/** Learning-rate schedules (and OneCycle's momentum) step by step against PyTorch, plus state and validation. */
import { describe, expect, it } from 'vitest';
import { tensor } from '@tessera/core';
import {
  Adam, ChainedScheduler, CosineAnnealingLR, CosineWithWarmup, ExponentialLR, LambdaLR, LinearLR, LinearWarmup, OneCycleLR,
  SequentialLR, SGD, StepLR, type LRScheduler, type Optimizer, type ParamGroup,
} from '../src/index.js';
import { expectClose } from '../../../test/support/close.js';
import { fixture } from './helpers.js';

interface SchedCase {
  name: string;
  optimizer: 'sgd' | 'adam';
  lrs: number[];
  spec: Record<string, never>;
  steps: { lr: number[]; momentum: number[] }[];
}
const cases = fixture<SchedCase[]>('schedulers.json');

function makeOptimizer(kind: 'sgd' | 'adam', lrs: number[]): Optimizer<ParamGroup> {
  const groups = lrs.map((lr) => ({ params: [tensor([0], { requiresGrad: true })], lr }));
  return kind === 'sgd' ? new SGD(groups, { lr: lrs[0], momentum: 0.9 }) : new Adam(groups, { lr: lrs[0] });
}

function makeScheduler(c: SchedCase, o: Optimizer<ParamGroup>): LRScheduler {
  const s = c.spec;
  switch (s.type as string) {
    case 'StepLR': return new StepLR(o, s.stepSize, s.gamma);
    case 'ExponentialLR': return new ExponentialLR(o, s.gamma);
    case 'LinearLR': return new LinearLR(o, { startFactor: s.startFactor, totalIters: s.totalIters });
    case 'CosineAnnealingLR': return new CosineAnnealingLR(o, s.tMax, s.etaMin);
    case 'CosineWithWarmup': return new CosineWithWarmup(o, { warmupSteps: s.warmupSteps, totalSteps: s.totalSteps, minLr: s.minLr, startFactor: s.startFactor });
    case 'SequentialStepExp': return new SequentialLR(o, [new StepLR(o, 3, 0.5), new ExponentialLR(o, 0.9)], [10]);
    case 'OneCycleLR':
      return new OneCycleLR(o, { maxLr: s.maxLr, totalSteps: s.totalSteps, annealStrategy: s.annealStrategy, threePhase: s.threePhase, pctStart: s.pctStart });
    case 'Chained': return new ChainedScheduler([new StepLR(o, 5, 0.5), new ExponentialLR(o, 0.95)]);
    default: throw new Error(`unknown scheduler ${s.type}`);
  }
}

const momentumOf = (o: Optimizer<ParamGroup>) => o.paramGroups.map((g) => (g.betas ? (g.betas as number[])[0]! : (g.momentum as number)));

describe('schedulers vs PyTorch', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const o = makeOptimizer(c.optimizer, c.lrs);
    const s = makeScheduler(c, o);
    const lrs: number[][] = [];
    const momenta: number[][] = [];
    for (let i = 0; i < c.steps.length; i++) {
      lrs.push(o.paramGroups.map((g) => g.lr));
      momenta.push(momentumOf(o));
      expect(s.getLastLr()).toEqual(lrs[i]);
      s.step();
    }
    const tol = { atol: 1e-14, rtol: 1e-12 };
    expectClose(lrs, c.steps.map((r) => r.lr), tol, 'lr');
    expectClose(momenta, c.steps.map((r) => r.momentum), tol, 'momentum');
  });
});

describe('scheduler behaviour', () => {
  it('resumes from its state dict', () => {
    const run = (s: LRScheduler, n: number) => Array.from({ length: n }, () => (s.step(), s.getLastLr()[0]!));
    const o1 = makeOptimizer('sgd', [0.1]);
    const s1 = new CosineWithWarmup(o1, { warmupSteps: 3, totalSteps: 12, minLr: 0.01 });
    run(s1, 5);
    const o2 = makeOptimizer('sgd', [0.1]);
    const s2 = new CosineWithWarmup(o2, { warmupSteps: 3, totalSteps: 12, minLr: 0.01 });
    o2.loadStateDict(o1.stateDict());
    s2.loadStateDict(JSON.parse(JSON.stringify(s1.stateDict())));
    expect(s2.getLastLr()).toEqual(s1.getLastLr());
    expect(run(s2, 6)).toEqual(run(s1, 6));
    expect(() => s2.loadStateDict({ lastEpoch: 1.5, baseLrs: [0.1], lastLr: [0.1] })).toThrow(/expected \{ lastEpoch, baseLrs, lastLr \}/);
  });

  it('composed schedulers save their children; LambdaLR and LinearWarmup', () => {
    const o = makeOptimizer('sgd', [1]);
    const seq = new SequentialLR(o, [new LinearWarmup(o, { warmupSteps: 2 }), new LambdaLR(o, (t) => 1 / (t + 1))], [2]);
    const seen = [seq.getLastLr()[0]];
    for (let i = 0; i < 4; i++) {
      seq.step();
      seen.push(seq.getLastLr()[0]);
    }
    expect(seen).toEqual([0, 0.5, 1, 0.5, 1 / 3]);
    expect(seq.stateDict().schedulers).toHaveLength(2);
  });

  it('CosineWithWarmup holds minLr after totalSteps; OneCycleLR refuses to run past totalSteps', () => {
    const o = makeOptimizer('sgd', [1]);
    const s = new CosineWithWarmup(o, { warmupSteps: 0, totalSteps: 4, minLr: 0.1 });
    for (let i = 0; i < 6; i++) s.step();
    expect(s.getLastLr()[0]).toBeCloseTo(0.1, 15);
    const oc = new OneCycleLR(makeOptimizer('sgd', [1]), { maxLr: 1, totalSteps: 3 });
    for (let i = 0; i < 3; i++) oc.step();
    expect(() => oc.step()).toThrow(/tried to step 4 times/);
  });

  it('validates arguments', () => {
    const o = makeOptimizer('sgd', [1]);
    expect(() => new StepLR(o, 0)).toThrow(/stepSize must be a positive integer/);
    expect(() => new CosineWithWarmup(o, { warmupSteps: 5, totalSteps: 4 })).toThrow(/warmupSteps must be an integer within/);
    expect(() => new SequentialLR(o, [new StepLR(o, 2)], [1])).toThrow(/expected 0 milestones/);
    expect(() => new SequentialLR(o, [new StepLR(makeOptimizer('sgd', [1]), 2)], [])).toThrow(/same optimizer/);
    expect(() => new OneCycleLR(new SGD([tensor([0], { requiresGrad: true })]), { maxLr: [1, 2], totalSteps: 3 })).toThrow(/expected 1 maxLr values/);
  });
});
