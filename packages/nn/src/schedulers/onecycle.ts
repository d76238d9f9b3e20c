/** The 1cycle policy (torch.optim.lr_scheduler.OneCycleLR), including its momentum cycle. */
import { ArgumentError } from '@tessera/core';
import type { Optimizer, ParamGroup } from '../optim/optimizer.js';
import { LRScheduler, positiveInt } from './base.js';

export interface OneCycleOptions {
  /** Peak learning rate, for all groups or one per group. */
  maxLr: number | number[];
  totalSteps: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's momentum, Adam's β₁) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Use three phases (up, down to initialLr, then annihilation) instead of two. */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: 'initialLr' | 'maxLr';
  endLr: 'initialLr' | 'maxLr' | 'minLr';
  startMomentum: 'maxMomentum' | 'baseMomentum';
  endMomentum: 'maxMomentum' | 'baseMomentum';
}

/**
 * Warms up from maxLr/divFactor to maxLr over pctStart of totalSteps, then anneals to initialLr/finalDivFactor,
 * while momentum moves from maxMomentum to baseMomentum and back. Groups get initialLr, maxLr, minLr (and the
 * momentum bounds) as keys, as in PyTorch. Stepping past totalSteps is an error.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly anneal: (start: number, end: number, pct: number) => number;
  readonly cycleMomentum: boolean;
  private readonly useBeta1: boolean;
  private readonly phases: Phase[];

  constructor(optimizer: Optimizer<ParamGroup>, opts: OneCycleOptions) {
    const groups = optimizer.paramGroups;
    const totalSteps = positiveInt('OneCycleLR', 'totalSteps', opts.totalSteps);
    const { pctStart = 0.3, annealStrategy = 'cos', cycleMomentum = true, baseMomentum = 0.85, maxMomentum = 0.95 } = opts;
    const { divFactor = 25, finalDivFactor = 1e4, threePhase = false } = opts;
    if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentError(`OneCycleLR: pctStart must be within [0, 1], got ${pctStart}`);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') throw new ArgumentError(`OneCycleLR: annealStrategy must be 'cos' or 'linear', got '${annealStrategy}'`);
    const maxLrs = Array.isArray(opts.maxLr) ? opts.maxLr : groups.map(() => opts.maxLr as number);
    if (maxLrs.length !== groups.length) throw new ArgumentError(`OneCycleLR: expected ${groups.length} maxLr values, got ${maxLrs.length}`);
    const useBeta1 = 'betas' in optimizer.defaults;
    if (cycleMomentum && !useBeta1 && !('momentum' in optimizer.defaults))
      throw new ArgumentError('OneCycleLR: the optimizer has no momentum or betas to cycle; pass cycleMomentum: false');
    groups.forEach((g, i) => {
      g.initialLr = maxLrs[i]! / divFactor;
      g.maxLr = maxLrs[i]!;
      g.minLr = (g.initialLr as number) / finalDivFactor;
      if (cycleMomentum) {
        if (useBeta1) g.betas = [maxMomentum, ...(g.betas as number[]).slice(1)];
        else g.momentum = maxMomentum;
        g.maxMomentum = maxMomentum;
        g.baseMomentum = baseMomentum;
      }
    });
    super(optimizer);
    this.totalSteps = totalSteps;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.anneal =
      annealStrategy === 'cos'
        ? (start, end, pct) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)
        : (start, end, pct) => (end - start) * pct + start;
    this.phases = threePhase
      ? [
          { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: 2 * pctStart * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
          { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    this.step();
  }

  /** The phase a step falls in and how far through it (PyTorch's rule: the last phase takes any overflow). */
  private locate(step: number): { phase: Phase; pct: number } {
    if (step > this.totalSteps) throw new ArgumentError(`OneCycleLR: tried to step ${step} times; the specified number of total steps is ${this.totalSteps}`);
    let start = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const phase = this.phases[i]!;
      if (step <= phase.endStep || i === this.phases.length - 1) return { phase, pct: (step - start) / (phase.endStep - start) };
      start = phase.endStep;
    }
    throw new Error('unreachable');
  }

  lrAt(step: number, _base: number, groupIndex: number): number {
    const g = this.optimizer.paramGroups[groupIndex]!;
    const { phase, pct } = this.locate(step);
    return this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
  }

  override applyExtras(step: number): void {
    if (!this.cycleMomentum) return;
    const { phase, pct } = this.locate(step);
    for (const g of this.optimizer.paramGroups) {
      const m = this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct);
      if (this.useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
      else g.momentum = m;
    }
  }
}
