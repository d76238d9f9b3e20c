/**
 * Command line of the GPT trainer (commander). A bad flag or value prints the error naming it, then the usage, and
 * exits with status 1; no stack trace.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ATTENTION_CHOICES, availableAttention } from './attention-choices.js';
import { BACKEND_NAMES, type BackendName } from './backend.js';

export interface TrainOptions {
  backend?: BackendName;
  attention: string;
  /** Total steps (undefined: the backend's default). */
  steps?: number;
  data?: string;
  resume: boolean;
  out: string;
  dim: number;
  layers: number;
  heads: number;
  kvHeads?: number;
  block: number;
  window?: number;
  /** Sequences per step (undefined: the backend's default). */
  batch?: number;
  /** Peak learning rate (undefined: the checkpoint's when resuming, else DEFAULT_LR). */
  lr?: number;
  seed: number;
  evalEvery?: number;
  sampleLength: number;
  temperature: number;
}

/**
 * Steps and batch size when not given, per backend: about three minutes on two cores for the fast backends; the
 * plain-TypeScript reference backend is ~30× slower, so it gets a short run that still shows the loss falling.
 */
export const DEFAULT_LR = 3e-3;

export const RUN_DEFAULTS: Record<string, { steps: number; batch: number }> = {
  cpu: { steps: 1200, batch: 16 },
  webgpu: { steps: 1200, batch: 16 },
  reference: { steps: 100, batch: 4 },
};

function int(min: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}.`);
    return n;
  };
}

function positiveNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

export function buildTrainCommand(): Command {
  const attention = availableAttention();
  return new Command('train-gpt')
    .description(
      "Trains a small character-level GPT on a text corpus (default: TypeScript's lib.es5.d.ts, shipped in the " +
        'typescript package) and writes a checkpoint, the loss curve (loss.png) and samples to --out.',
    )
    .addOption(new Option('--backend <name>', "backend to train on (default: cpu, or reference when cpu can't load)").choices(BACKEND_NAMES))
    .addOption(new Option('--attention <name>', 'attention module in every block').choices(attention).default('mha'))
    .option('--steps <n>', `total training steps (default: ${RUN_DEFAULTS.cpu!.steps}, or ${RUN_DEFAULTS.reference!.steps} on reference)`, int(1))
    .option('--data <file>', 'train on this UTF-8 text file instead of the default corpus')
    .option('--resume', 'continue from the checkpoint in --out (model size, data, batch, lr and eval interval come from it)', false)
    .option('--out <dir>', 'directory for checkpoint.safetensors, loss.png and samples.txt', 'out/train-gpt')
    .option('--dim <n>', 'model width', int(8), 64)
    .option('--layers <n>', 'transformer blocks', int(1), 2)
    .option('--heads <n>', 'attention heads (must divide --dim)', int(1), 4)
    .option('--kv-heads <n>', 'key/value heads for gqa (default: heads / 2)', int(1))
    .option('--block <n>', 'context length in characters', int(2), 64)
    .option('--window <n>', 'attention window for swa and titans (default: block / 4)', int(1))
    .option('--batch <n>', `sequences per step (default: ${RUN_DEFAULTS.cpu!.batch}, or ${RUN_DEFAULTS.reference!.batch} on reference)`, int(1))
    .option('--lr <x>', `peak learning rate (AdamW, warmup then cosine decay; default: ${DEFAULT_LR})`, positiveNumber)
    .option('--seed <n>', 'seed for weights and batches', int(0), 0)
    .option('--eval-every <n>', 'steps between validation loss, samples and checkpoints (default: steps / 5)', int(1))
    .option('--sample-length <n>', 'characters per sample', int(1), 240)
    .option('--temperature <x>', 'sampling temperature', positiveNumber, 0.8)
    .addHelpText('after', `\nAttention modules:\n${attentionHelp(attention)}\n\nExample: pnpm start --steps 300 --attention gqa --kv-heads 2`)
    .showHelpAfterError()
    .allowExcessArguments(false);
}

function attentionHelp(names: readonly string[]): string {
  return names.map((n) => `  ${n.padEnd(14)} ${ATTENTION_CHOICES[n]!.summary}`).join('\n');
}

/** Parses argv (without node and the script). Exits with the usage on a bad flag. */
export function parseTrainArgs(argv: readonly string[]): TrainOptions {
  // `pnpm start -- --steps 5` passes the '--' through; accept both spellings.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const cmd = buildTrainCommand();
  cmd.parse(args, { from: 'user' });
  return cmd.opts<TrainOptions>();
}
