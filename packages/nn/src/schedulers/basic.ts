/** Step, exponential, linear-warmup and cosine schedules. */
import { ArgumentError } from '@tessera/core';
import type { Optimizer, ParamGroup } from '../optim/optimizer.js';
import { LRScheduler, positiveInt } from './base.js';

type Opt = Optimizer<ParamGroup>;

/** lr = base · gamma^⌊step / stepSize⌋ (torch's StepLR). */
export class StepLR extends LRScheduler {
  constructor(
    optimizer: Opt,
    readonly stepSize: number,
    readonly gamma = 0.1,
  ) {
    super(optimizer);
    positiveInt('StepLR', 'stepSize', stepSize);
    this.step();
  }
  lrAt(step: number, base: number): number {
    return base * this.gamma ** Math.floor(step / this.stepSize);
  }
}

/** lr = base · gamma^step (torch's ExponentialLR). */
export class ExponentialLR extends LRScheduler {
  constructor(
    optimizer: Opt,
    readonly gamma: number,
  ) {
    super(optimizer);
    this.step();
  }
  lrAt(step: number, base: number): number {
    return base * this.gamma ** step;
  }
}

export interface LinearWarmupOptions {
  warmupSteps: number;
  /** Factor of the base lr at step 0 (default 0). */
  startFactor?: number;
  /** Factor reached at warmupSteps and kept afterwards (default 1). */
  endFactor?: number;
}

/**
 * lr = base · (start + (end − start) · min(step, warmupSteps) / warmupSteps): a linear ramp, then constant. Same
 * as torch's LinearLR(start_factor, end_factor, total_iters=warmupSteps).
 */
export class LinearWarmup extends LRScheduler {
  readonly warmupSteps: number;
  readonly startFactor: number;
  readonly endFactor: number;
  constructor(optimizer: Opt, opts: LinearWarmupOptions) {
    super(optimizer);
    this.warmupSteps = positiveInt('LinearWarmup', 'warmupSteps', opts.warmupSteps);
    this.startFactor = opts.startFactor ?? 0;
    this.endFactor = opts.endFactor ?? 1;
    for (const [k, v] of [['startFactor', this.startFactor], ['endFactor', this.endFactor]] as const)
      if (!(v >= 0 && v <= 1)) throw new ArgumentError(`LinearWarmup: ${k} must be within [0, 1], got ${v}`);
    this.step();
  }
  lrAt(step: number, base: number): number {
    return base * (this.startFactor + ((this.endFactor - this.startFactor) * Math.min(step, this.warmupSteps)) / this.warmupSteps);
  }
}

/** torch's LinearLR with its defaults (startFactor 1/3, endFactor 1, totalIters 5). */
export class LinearLR extends LinearWarmup {
  constructor(optimizer: Opt, opts: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer, { warmupSteps: opts.totalIters ?? 5, startFactor: opts.startFactor ?? 1 / 3, endFactor: opts.endFactor ?? 1 });
  }
}

/** lr = etaMin + (base − etaMin) · (1 + cos(π · step / tMax)) / 2 (torch's CosineAnnealingLR, closed form). */
export class CosineAnnealingLR extends LRScheduler {
  constructor(
    optimizer: Opt,
    readonly tMax: number,
    readonly etaMin = 0,
  ) {
    super(optimizer);
    positiveInt('CosineAnnealingLR', 'tMax', tMax);
    this.step();
  }
  lrAt(step: number, base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * step) / this.tMax))) / 2;
  }
}

export interface CosineWithWarmupOptions {
  warmupSteps: number;
  /** Step at which the cosine reaches minLr; the lr stays at minLr afterwards. */
  totalSteps: number;
  minLr?: number;
  /** Factor of the base lr at step 0 of the warmup (default 0). */
  startFactor?: number;
}

/**
 * Linear warmup from startFactor·base to base over warmupSteps, then cosine annealing from base to minLr at
 * totalSteps. Equivalent to SequentialLR([LinearLR(startFactor, 1, W), CosineAnnealingLR(T − W, minLr)], [W]).
 */
export class CosineWithWarmup extends LRScheduler {
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly minLr: number;
  readonly startFactor: number;
  constructor(optimizer: Opt, opts: CosineWithWarmupOptions) {
    super(optimizer);
    this.warmupSteps = opts.warmupSteps;
    this.totalSteps = positiveInt('CosineWithWarmup', 'totalSteps', opts.totalSteps);
    if (!Number.isInteger(this.warmupSteps) || this.warmupSteps < 0 || this.warmupSteps > this.totalSteps)
      throw new ArgumentError(`CosineWithWarmup: warmupSteps must be an integer within [0, totalSteps], got ${opts.warmupSteps}`);
    this.minLr = opts.minLr ?? 0;
    this.startFactor = opts.startFactor ?? 0;
    this.step();
  }
  lrAt(step: number, base: number): number {
    const w = this.warmupSteps;
    if (step < w) return base * (this.startFactor + ((1 - this.startFactor) * step) / w);
    const span = this.totalSteps - w;
    const progress = span === 0 ? 1 : Math.min(1, (step - w) / span);
    return this.minLr + ((base - this.minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
  }
}
