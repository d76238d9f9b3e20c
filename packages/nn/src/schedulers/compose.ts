/** Composition of schedulers: one after another (SequentialLR) or all at once (ChainedScheduler). */
import { ArgumentError } from '@tessera/core';
import { CheckpointError } from '../errors.js';
import type { Optimizer, ParamGroup } from '../optim/optimizer.js';
import { LRScheduler, type SchedulerStateDict } from './base.js';

function checkSameOptimizer(op: string, optimizer: Optimizer<ParamGroup>, schedulers: readonly LRScheduler[]): void {
  if (!schedulers.length) throw new ArgumentError(`${op}: expected at least one scheduler`);
  if (schedulers.some((s) => s.optimizer !== optimizer)) throw new ArgumentError(`${op}: every scheduler must belong to the same optimizer`);
}

abstract class ComposedScheduler extends LRScheduler {
  constructor(
    optimizer: Optimizer<ParamGroup>,
    readonly schedulers: readonly LRScheduler[],
  ) {
    super(optimizer);
  }
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }
  override loadStateDict(sd: SchedulerStateDict): void {
    if (!Array.isArray(sd?.schedulers) || sd.schedulers.length !== this.schedulers.length)
      throw new CheckpointError(`${this.constructor.name}.loadStateDict: expected states for ${this.schedulers.length} schedulers`);
    super.loadStateDict(sd);
    this.schedulers.forEach((s, i) => s.loadStateDict(sd.schedulers![i]!));
  }
}

/**
 * Runs schedulers[0] until milestones[0], then schedulers[1] restarted from its step 0, and so on
 * (torch's SequentialLR). The learning rates start again from each group's initialLr.
 */
export class SequentialLR extends ComposedScheduler {
  readonly milestones: readonly number[];
  constructor(optimizer: Optimizer<ParamGroup>, schedulers: LRScheduler[], milestones: number[]) {
    checkSameOptimizer('SequentialLR', optimizer, schedulers);
    if (milestones.length !== schedulers.length - 1)
      throw new ArgumentError(`SequentialLR: expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${milestones.length}`);
    if (milestones.some((m, i) => !Number.isInteger(m) || m < 0 || (i > 0 && m <= milestones[i - 1]!)))
      throw new ArgumentError(`SequentialLR: milestones must be increasing non-negative integers, got [${milestones.join(', ')}]`);
    super(optimizer, schedulers);
    this.milestones = [...milestones];
    this.step();
  }
  /** The active scheduler and its local step. */
  private active(step: number): { s: LRScheduler; local: number } {
    let k = 0;
    while (k < this.milestones.length && step >= this.milestones[k]!) k++;
    return { s: this.schedulers[k]!, local: k === 0 ? step : step - this.milestones[k - 1]! };
  }
  lrAt(step: number, base: number, groupIndex: number): number {
    const { s, local } = this.active(step);
    return s.lrAt(local, base, groupIndex);
  }
  override applyExtras(step: number): void {
    const { s, local } = this.active(step);
    s.applyExtras(local);
  }
}

/**
 * Applies every scheduler at each step, each to the previous one's result (torch's ChainedScheduler): for
 * multiplicative schedules the factors multiply.
 */
export class ChainedScheduler extends ComposedScheduler {
  constructor(schedulers: LRScheduler[]) {
    const optimizer = schedulers[0]?.optimizer;
    if (!optimizer) throw new ArgumentError('ChainedScheduler: expected at least one scheduler');
    checkSameOptimizer('ChainedScheduler', optimizer, schedulers);
    super(optimizer, schedulers);
    this.step();
  }
  lrAt(step: number, base: number, groupIndex: number): number {
    return this.schedulers.reduce((lr, s) => s.lrAt(step, lr, groupIndex), base);
  }
  override applyExtras(step: number): void {
    for (const s of this.schedulers) s.applyExtras(step);
  }
}
