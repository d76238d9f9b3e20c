/**
 * Training-state checkpoints: model weights, optimizer state, scheduler position, step and RNG state in one
 * safetensors file, written atomically. Model tensors are stored as `model/<key>` and optimizer state tensors as
 * `optimizer/<param index>/<name>` (so the weights are readable by any safetensors tool); everything else is JSON
 * in the `__metadata__` strings. Loading restores every value exactly, so training resumes bit-identically.
 */
import type { Generator, Tensor } from '@tessera/core';
import { CheckpointError } from './errors.js';
import type { Module } from './module.js';
import type { Optimizer, OptimizerStateDict, ParamGroup, ParamState } from './optim/optimizer.js';
import type { LRScheduler, SchedulerStateDict } from './schedulers/base.js';
import { loadSafetensors, saveSafetensors } from './safetensors/io.js';

const FORMAT = 'tessera.training_state';
const VERSION = '1';
const MODEL = 'model/';
const OPTIM = 'optimizer/';

export interface TrainingState {
  model: Module;
  optimizer?: Optimizer<ParamGroup>;
  scheduler?: LRScheduler;
  /** The training step (or any counter) to resume from. */
  step?: number;
  /** Generator whose state to save (e.g. the one driving dropout or data shuffling). */
  generator?: Generator;
  /** Any JSON-serializable extra data. */
  extra?: unknown;
}

export interface LoadTrainingStateOptions {
  model: Module;
  optimizer?: Optimizer<ParamGroup>;
  scheduler?: LRScheduler;
  generator?: Generator;
  /** Require the model's keys to match exactly (default true). */
  strict?: boolean;
}

export interface LoadedTrainingState {
  step: number | null;
  extra: unknown;
}

// JSON cannot hold NaN or ±Infinity; tag them so hyperparameters and counters round-trip exactly.
const encodeJson = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? { $number: String(x) } : x));
const decodeJson = (s: string, what: string): unknown => {
  try {
    return JSON.parse(s, (_k, x: unknown) =>
      x && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 1 && typeof (x as { $number?: unknown }).$number === 'string'
        ? Number((x as { $number: string }).$number)
        : x,
    );
  } catch (e) {
    throw new CheckpointError(`loadTrainingState: the ${what} entry is not valid JSON (${(e as Error).message})`);
  }
};

/** Saves a training state to `path` (atomically: a crash never leaves a partial file). */
export async function saveTrainingState(path: string, state: TrainingState): Promise<void> {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of Object.entries(state.model.stateDict())) tensors.set(MODEL + k, t);
  const metadata: Record<string, string> = { format: FORMAT, version: VERSION };
  if (state.optimizer) {
    const sd = state.optimizer.stateDict();
    const scalarState: Record<string, Record<string, number | { $tensor: string }>> = {};
    for (const [idx, s] of Object.entries(sd.state)) {
      scalarState[idx] = {};
      for (const [k, v] of Object.entries(s)) {
        if (typeof v === 'number') scalarState[idx][k] = v;
        else {
          const name = `${OPTIM}${idx}/${k}`;
          tensors.set(name, v);
          scalarState[idx][k] = { $tensor: name };
        }
      }
    }
    metadata.optimizer = encodeJson({ type: state.optimizer.constructor.name, paramGroups: sd.paramGroups, state: scalarState });
  }
  if (state.scheduler) metadata.scheduler = encodeJson({ type: state.scheduler.constructor.name, state: state.scheduler.stateDict() });
  if (state.step !== undefined) metadata.step = encodeJson(state.step);
  if (state.generator) metadata.generator = encodeJson(state.generator.getState());
  if (state.extra !== undefined) metadata.extra = encodeJson(state.extra);
  await saveSafetensors(path, tensors, metadata);
}

/**
 * Loads a checkpoint written by saveTrainingState into the given objects, in place. Each object passed must have
 * its part in the file (an optimizer of the same type and group structure, a scheduler of the same type).
 */
export async function loadTrainingState(path: string, opts: LoadTrainingStateOptions): Promise<LoadedTrainingState> {
  const { tensors, metadata } = await loadSafetensors(path);
  try {
    if (metadata?.format !== FORMAT) throw new CheckpointError(`loadTrainingState: ${path} is not a Tessera training state (metadata.format is ${JSON.stringify(metadata?.format ?? null)})`);
    if (metadata.version !== VERSION) throw new CheckpointError(`loadTrainingState: unsupported training-state version ${metadata.version}`);
    const model = Object.create(null) as Record<string, Tensor>;
    for (const [k, t] of Object.entries(tensors)) if (k.startsWith(MODEL)) model[k.slice(MODEL.length)] = t;
    // Parse and check every part before changing anything.
    const optim = opts.optimizer ? optimizerStateFrom(metadata, tensors, opts.optimizer) : null;
    const sched = opts.scheduler ? schedulerStateFrom(metadata, opts.scheduler) : null;
    if (opts.generator && metadata.generator === undefined) throw new CheckpointError('loadTrainingState: the checkpoint has no generator state');
    const gen = opts.generator ? (decodeJson(metadata.generator!, 'generator') as { seed: number; counter: number }) : null;
    if (gen && (!Number.isInteger(gen.seed) || !Number.isInteger(gen.counter))) throw new CheckpointError('loadTrainingState: malformed generator state');

    opts.model.loadStateDict(model, { strict: opts.strict ?? true });
    if (optim) opts.optimizer!.loadStateDict(optim);
    if (sched) opts.scheduler!.loadStateDict(sched);
    if (gen) opts.generator!.setState(gen);
    return {
      step: metadata.step === undefined ? null : (decodeJson(metadata.step, 'step') as number),
      extra: metadata.extra === undefined ? undefined : decodeJson(metadata.extra, 'extra'),
    };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

function optimizerStateFrom(metadata: Record<string, string>, tensors: Record<string, Tensor>, optimizer: Optimizer<ParamGroup>): OptimizerStateDict {
  if (metadata.optimizer === undefined) throw new CheckpointError('loadTrainingState: the checkpoint has no optimizer state');
  const saved = decodeJson(metadata.optimizer, 'optimizer') as { type?: string; paramGroups?: unknown; state?: Record<string, Record<string, unknown>> };
  if (saved.type !== optimizer.constructor.name)
    throw new CheckpointError(`loadTrainingState: the checkpoint holds ${saved.type} state, but the optimizer is ${optimizer.constructor.name}`);
  if (!Array.isArray(saved.paramGroups) || typeof saved.state !== 'object' || saved.state === null) throw new CheckpointError('loadTrainingState: malformed optimizer state');
  const state: Record<number, ParamState> = {};
  for (const [idx, s] of Object.entries(saved.state)) {
    const entry: ParamState = {};
    for (const [k, v] of Object.entries(s ?? {})) {
      if (typeof v === 'number') entry[k] = v;
      else {
        const name = (v as { $tensor?: unknown })?.$tensor;
        const t = typeof name === 'string' && name.startsWith(OPTIM) ? tensors[name] : undefined;
        if (!t) throw new CheckpointError(`loadTrainingState: optimizer state '${k}' of parameter ${idx} refers to a missing tensor`);
        entry[k] = t;
      }
    }
    state[Number(idx)] = entry;
  }
  return { state, paramGroups: saved.paramGroups as OptimizerStateDict['paramGroups'] };
}

function schedulerStateFrom(metadata: Record<string, string>, scheduler: LRScheduler): SchedulerStateDict {
  if (metadata.scheduler === undefined) throw new CheckpointError('loadTrainingState: the checkpoint has no scheduler state');
  const saved = decodeJson(metadata.scheduler, 'scheduler') as { type?: string; state?: SchedulerStateDict };
  if (saved.type !== scheduler.constructor.name)
    throw new CheckpointError(`loadTrainingState: the checkpoint holds a ${saved.type} scheduler, but got ${scheduler.constructor.name}`);
  if (!saved.state) throw new CheckpointError('loadTrainingState: malformed scheduler state');
  return saved.state;
}
