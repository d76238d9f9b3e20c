/**
 * Learning-rate schedulers. Each schedule is a closed form lrAt(step, baseLr): the learning rate after `step`
 * calls to step(), which makes resuming exact and composition (SequentialLR, ChainedScheduler) simple. As in
 * PyTorch, constructing a scheduler records each group's `initialLr` and applies the step-0 rate, and step()
 * is called once per optimizer step, after optimizer.step().
 */
import { ArgumentError } from '@tessera/core';
import { CheckpointError } from '../errors.js';
import type { Optimizer, ParamGroup } from '../optim/optimizer.js';

/** A scheduler's serializable state. */
export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
  /** States of composed schedulers, in order. */
  schedulers?: SchedulerStateDict[];
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer<ParamGroup>;
  /** Number of step() calls since construction (0 right after it; PyTorch's last_epoch). */
  lastEpoch = -1;
  /** Each group's learning rate before scheduling (its initialLr). */
  baseLrs: number[];
  protected lastLr: number[] = [];

  constructor(optimizer: Optimizer<ParamGroup>) {
    this.optimizer = optimizer;
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
  }

  /** The learning rate of group `groupIndex` after `step` steps, starting from `baseLr`. */
  abstract lrAt(step: number, baseLr: number, groupIndex: number): number;

  /** Sets other scheduled hyperparameters (OneCycleLR's momentum) for a step; none by default. */
  applyExtras(_step: number): void {}

  /** Advances one step and writes the new learning rates into the optimizer's groups. */
  step(): void {
    this.lastEpoch += 1;
    this.lastLr = this.optimizer.paramGroups.map((g, i) => (g.lr = this.lrAt(this.lastEpoch, this.baseLrs[i]!, i)));
    this.applyExtras(this.lastEpoch);
  }

  /** The learning rates set by the latest step, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }

  /** Restores the step count (the optimizer's state dict restores the learning rates themselves). */
  loadStateDict(sd: SchedulerStateDict): void {
    const n = this.optimizer.paramGroups.length;
    const nums = (x: unknown) => Array.isArray(x) && x.length === n && x.every((v) => typeof v === 'number');
    if (!sd || !Number.isInteger(sd.lastEpoch) || !nums(sd.baseLrs) || !nums(sd.lastLr))
      throw new CheckpointError(`${this.constructor.name}.loadStateDict: expected { lastEpoch, baseLrs, lastLr } for ${n} parameter groups`);
    this.lastEpoch = sd.lastEpoch;
    this.baseLrs = [...sd.baseLrs];
    this.lastLr = [...sd.lastLr];
  }
}

/** lr = baseLr · fn(step) (torch.optim.lr_scheduler.LambdaLR); one function for all groups or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly fns: ((step: number) => number)[];
  constructor(optimizer: Optimizer<ParamGroup>, lrLambda: ((step: number) => number) | ((step: number) => number)[]) {
    super(optimizer);
    const n = optimizer.paramGroups.length;
    this.fns = Array.isArray(lrLambda) ? lrLambda : new Array<(s: number) => number>(n).fill(lrLambda);
    if (this.fns.length !== n) throw new ArgumentError(`LambdaLR: expected ${n} lambdas (one per group), got ${this.fns.length}`);
    this.step();
  }
  lrAt(step: number, baseLr: number, groupIndex: number): number {
    return baseLr * this.fns[groupIndex]!(step);
  }
}

/** Throws unless v is a positive integer. */
export function positiveInt(op: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${v}`);
  return v;
}
