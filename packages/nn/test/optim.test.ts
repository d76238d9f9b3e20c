/** Optimizers, schedules and clipping follow PyTorch's 20-step trajectories in float64; state dicts round-trip. */
import { describe, expect, it } from 'vitest';
import { ArgumentError, memoryStats, scope, setBackend, tensor, type Tensor } from '@tessera/core';
import {
  Adam, AdamW, ChainedScheduler, clipGradNorm_, clipGradValue_, CosineWithWarmup, ExponentialLR, LinearWarmup, Linear, mseLoss,
  OneCycleLR, Sequential, SGD, StepLR, Tanh, type LRScheduler, type Optimizer, type ParamGroup,
} from '../src/index.js';
import { expectClose } from '../../../test/support/close.js';
import { fixture, fromFixture, stateDictFrom, type FT } from './helpers.js';

interface OptimConfig {
  name: string;
  optimizer: Record<string, unknown>;
  scheduler: Record<string, unknown>;
  clip: { type: 'norm' | 'value'; maxNorm?: number; normType?: number | 'inf'; clipValue?: number };
  losses: number[];
  clipNorms: (number | null)[];
  lrs: number[][];
  final: Record<string, FT>;
}
const fx = fixture<{ init: Record<string, FT>; x: FT; y: FT; configs: OptimConfig[] }>('optim.json');

function makeModel() {
  const m = new Sequential(new Linear(3, 5, { dtype: 'float64' }), new Tanh(), new Linear(5, 2, { dtype: 'float64' }));
  m.loadStateDict(stateDictFrom(fx.init, 'float64'));
  return m;
}

function makeOptimizer(c: OptimConfig, model: Sequential): Optimizer<ParamGroup> {
  const o = c.optimizer as Record<string, never>;
  switch (o.type as string) {
    case 'SGD': return new SGD(model.parameters(), { lr: o.lr, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov, weightDecay: o.weightDecay });
    case 'Adam': return new Adam(model.parameters(), { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay, amsgrad: o.amsgrad });
    case 'AdamW': return new AdamW(model.parameters(), { lr: o.lr, weightDecay: o.weightDecay });
    case 'SGDGroups':
      return new SGD([{ params: model.at(0).parameters(), lr: 0.2 }, { params: model.at(2).parameters(), momentum: 0.5 }], { lr: 0.05, momentum: 0.9 });
    default: throw new Error(`unknown optimizer ${o.type}`);
  }
}

function makeScheduler(c: OptimConfig, opt: Optimizer<ParamGroup>): LRScheduler {
  const s = c.scheduler as Record<string, never>;
  switch (s.type as string) {
    case 'StepLR': return new StepLR(opt, s.stepSize, s.gamma);
    case 'ExponentialLR': return new ExponentialLR(opt, s.gamma);
    case 'CosineWithWarmup': return new CosineWithWarmup(opt, { warmupSteps: s.warmupSteps, totalSteps: s.totalSteps, minLr: s.minLr, startFactor: s.startFactor });
    case 'OneCycleLR': return new OneCycleLR(opt, { maxLr: s.maxLr, totalSteps: s.totalSteps });
    case 'LinearWarmup': return new LinearWarmup(opt, { warmupSteps: s.warmupSteps, startFactor: s.startFactor });
    case 'Chained': return new ChainedScheduler([new StepLR(opt, 4, 0.5), new ExponentialLR(opt, 0.9)]);
    default: throw new Error(`unknown scheduler ${s.type}`);
  }
}

describe('optimizer trajectories vs PyTorch (float64, 20 steps)', () => {
  it.each(fx.configs.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    setBackend('reference');
    const model = makeModel();
    const opt = makeOptimizer(c, model);
    const sched = makeScheduler(c, opt);
    const [x, y] = [fromFixture(fx.x), fromFixture(fx.y)];
    const losses: number[] = [];
    const norms: (number | null)[] = [];
    const lrs: number[][] = [];
    for (let step = 0; step < 20; step++) {
      opt.zeroGrad();
      const loss = mseLoss(model.forward(x), y);
      loss.backward();
      if (c.clip.type === 'norm') {
        const normType = c.clip.normType === 'inf' ? Infinity : c.clip.normType!;
        norms.push(await clipGradNorm_(model.parameters(), c.clip.maxNorm!, normType).item());
      } else {
        clipGradValue_(model.parameters(), c.clip.clipValue!);
        norms.push(null);
      }
      lrs.push(opt.paramGroups.map((g) => g.lr));
      opt.step();
      sched.step();
      losses.push(await loss.item());
    }
    const tol = { atol: 1e-9, rtol: 1e-9 };
    expectClose(lrs, c.lrs, { atol: 1e-15, rtol: 1e-12 }, 'lr');
    expectClose(losses, c.losses, tol, 'loss');
    if (c.clip.type === 'norm') expectClose(norms as number[], c.clipNorms as number[], tol, 'clip norm');
    const final = model.stateDict();
    for (const [k, v] of Object.entries(c.final)) expectClose(await final[k]!.data(), v.data, tol, `final ${k}`);
  });
});

describe('optimizer state', () => {
  const params = () => [tensor([1, -2, 3], { dtype: 'float64', requiresGrad: true }), tensor([[0.5]], { dtype: 'float64', requiresGrad: true })];
  const train = async (opt: Optimizer<ParamGroup>, ps: Tensor[], steps: number) => {
    for (let i = 0; i < steps; i++) {
      opt.zeroGrad();
      ps[0]!.square().sum().add(ps[1]!.mul(3).sum()).backward();
      opt.step();
    }
    return Promise.all(ps.map(async (p) => Array.from(await p.data())));
  };

  it.each([
    ['SGD', (p: Tensor[]) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true })],
    ['Adam', (p: Tensor[]) => new Adam(p, { lr: 0.1, amsgrad: true })],
    ['AdamW', (p: Tensor[]) => new AdamW(p, { lr: 0.1 })],
  ] as const)('%s resumes exactly from its state dict', async (_name, make) => {
    const a = params();
    const optA = make(a);
    await train(optA, a, 3);
    const sd = optA.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '1']);
    expect(sd.paramGroups[0]!.params).toEqual([0, 1]);
    const b = a.map((p) => p.detach().clone().requiresGrad_());
    const optB = make(b);
    optB.loadStateDict(sd);
    const [ra, rb] = [await train(optA, a, 4), await train(optB, b, 4)];
    expect(rb).toEqual(ra);
  });

  it.each([
    ['SGD', (p: Tensor[]) => new SGD(p, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 })],
    ['AdamW', (p: Tensor[]) => new AdamW(p, { lr: 0.1, amsgrad: true })],
  ] as const)('%s steps free their temporaries (memory stays flat)', (_name, make) => {
    const ps = params();
    const opt = make(ps);
    const stepOnce = () =>
      scope(() => {
        opt.zeroGrad();
        ps[0]!.square().sum().add(ps[1]!.mul(3).sum()).backward();
        clipGradNorm_(ps, 1);
        opt.step();
      });
    stepOnce(); // creates the optimizer state
    const before = memoryStats().reference!.buffers;
    for (let i = 0; i < 5; i++) stepOnce();
    expect(memoryStats().reference!.buffers).toBe(before);
  });

  it('validates hyperparameters, groups and loaded state', () => {
    const p = params();
    expect(() => new SGD(p, { lr: -1 })).toThrow(/invalid learning rate/);
    expect(() => new SGD(p, { nesterov: true })).toThrow(/Nesterov momentum requires a momentum/);
    expect(() => new Adam(p, { betas: [1, 0.9] })).toThrow(/betas must be within/);
    expect(() => new SGD([])).toThrow(/empty parameter list/);
    expect(() => new SGD([{ params: [p[0]!] }, { params: [p[0]!] }])).toThrow(/more than one parameter group/);
    const opt = new SGD(p, { lr: 0.1 });
    expect(() => opt.loadStateDict({ state: {}, paramGroups: [] })).toThrow(/has 0 parameter groups, the optimizer 1/);
    expect(() => new OneCycleLR(new SGD(p), { maxLr: 1, totalSteps: 2, pctStart: 2 })).toThrow(ArgumentError);
  });

  it('clipGradNorm_ returns the total norm and scales gradients; clipGradValue_ clamps', async () => {
    const a = tensor([3, 4], { dtype: 'float64', requiresGrad: true });
    a.grad = tensor([3, 4], { dtype: 'float64' });
    const total = clipGradNorm_([a], 1);
    expect(await total.item()).toBeCloseTo(5, 12);
    expectClose(await a.grad.data(), [3 / (5 + 1e-6), 4 / (5 + 1e-6)], { atol: 1e-12 });
    clipGradNorm_([a], 10);
    expectClose(await a.grad.data(), [3 / (5 + 1e-6), 4 / (5 + 1e-6)], { atol: 1e-12 });
    clipGradValue_(a, 0.7);
    expectClose(await a.grad.data(), [0.6 / (1 + 2e-7), 0.7], { atol: 1e-6 });
    expect(await clipGradNorm_([tensor([1], { requiresGrad: true })], 1).item()).toBe(0);
  });
});
