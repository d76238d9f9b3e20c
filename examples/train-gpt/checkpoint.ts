/**
 * The GPT's checkpoint: one safetensors file written by `saveTrainingState` (weights, AdamW state, schedule position,
 * step and the data generator's state), with the model config, the vocabulary and the loss history in its metadata,
 * so `--resume` and the generate example can rebuild the model from the file alone.
 */
import { existsSync } from 'node:fs';
import { CheckpointError, readSafetensorsHeader } from '@tessera/nn';
import type { GPTConfig } from './model.js';
import type { LossPoint } from './plot.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** What the checkpoint carries besides tensors (TrainingState.extra). */
export interface GPTCheckpointExtra {
  config: GPTConfig;
  /** The vocabulary as one string of characters, id order. */
  vocab: string;
  /** Where the text came from, in words. */
  corpus: string;
  /** The --data file (absolute), or null for the default corpus. */
  dataPath: string | null;
  /** The total number of steps the run was planned for (the LR schedule's length). */
  totalSteps: number;
  /** Sequences per step, peak learning rate and evaluation interval, so a resumed run continues the same run. */
  batch: number;
  lr: number;
  evalEvery: number;
  history: LossPoint[];
  seed: number;
}

/** Reads the config, vocabulary and history from a checkpoint without loading its tensors. */
export async function readCheckpointInfo(path: string): Promise<GPTCheckpointExtra> {
  if (!existsSync(path)) throw new CheckpointError(`no checkpoint at ${path}`);
  const { metadata } = await readSafetensorsHeader(path);
  if (metadata?.format !== 'tessera.training_state' || metadata.extra === undefined)
    throw new CheckpointError(`${path} is not a checkpoint written by examples/train-gpt`);
  const extra = JSON.parse(metadata.extra) as Partial<GPTCheckpointExtra>;
  if (!extra.config || typeof extra.vocab !== 'string') throw new CheckpointError(`${path} has no GPT config or vocabulary in its metadata`);
  return extra as GPTCheckpointExtra;
}
