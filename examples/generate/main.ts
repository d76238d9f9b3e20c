/**
 * Samples text from a checkpoint written by examples/train-gpt: rebuilds the GPT from the config and vocabulary in
 * the checkpoint's metadata, loads the weights, and continues a prompt with temperature / top-k / top-p sampling
 * from a seeded generator (the same seed gives the same text).
 *
 *   npx tsx examples/generate/main.ts --prompt 'interface ' --length 400 --temperature 0.7 --top-k 20 --seed 1
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { Generator, TesseraError } from '@tessera/core';
import { loadTrainingState } from '@tessera/nn';
import { BACKEND_NAMES, BackendUnavailableError, chooseBackend, type BackendName } from '../train-gpt/backend.js';
import { CHECKPOINT_FILE, readCheckpointInfo } from '../train-gpt/checkpoint.js';
import { CharVocab } from '../train-gpt/data.js';
import { GPT } from '../train-gpt/model.js';
import { sampleText } from '../train-gpt/sample.js';

interface GenerateFlags {
  checkpoint: string;
  prompt: string;
  length: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  num: number;
  backend?: BackendName;
}

function number(check: (n: number) => boolean, expected: string, integer = false) {
  return (text: string): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || !check(n)) throw new InvalidArgumentError(`expected ${expected}.`);
    return n;
  };
}

function parseFlags(argv: readonly string[]): GenerateFlags {
  const cmd = new Command('generate')
    .description('Samples text from a train-gpt checkpoint.')
    .option('--checkpoint <file>', 'checkpoint written by train-gpt', `out/train-gpt/${CHECKPOINT_FILE}`)
    .option('--prompt <text>', 'text to continue (characters outside the vocabulary become its first character)', '\n')
    .option('--length <n>', 'characters to generate', number((n) => n >= 1, 'an integer >= 1', true), 400)
    .option('--temperature <x>', 'divide the logits by this before sampling', number((n) => n > 0, 'a positive number'), 0.8)
    .option('--top-k <k>', 'sample among the k most likely characters (0 = all)', number((n) => n >= 0, 'an integer >= 0', true), 0)
    .option('--top-p <p>', 'sample from the smallest set with probability >= p (1 = all)', number((n) => n > 0 && n <= 1, 'a number in (0, 1]'), 1)
    .option('--seed <n>', 'seed of the sampling generator', number((n) => n >= 0, 'an integer >= 0', true), 0)
    .option('--num <n>', 'number of samples', number((n) => n >= 1, 'an integer >= 1', true), 1)
    .addOption(new Option('--backend <name>', 'backend (default: cpu, or reference when cpu cannot load)').choices(BACKEND_NAMES))
    .showHelpAfterError()
    .allowExcessArguments(false);
  cmd.parse(argv[0] === '--' ? argv.slice(1) : [...argv], { from: 'user' });
  return cmd.opts<GenerateFlags>();
}

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  try {
    const { notice } = await chooseBackend(flags.backend);
    if (notice) console.error(notice);
  } catch (e) {
    if (e instanceof BackendUnavailableError) fail(e.message);
    throw e;
  }
  let info;
  try {
    info = await readCheckpointInfo(flags.checkpoint);
  } catch (e) {
    fail(`--checkpoint: ${(e as Error).message}; train one first with: npx -y pnpm@10.34.8 start`);
  }
  const vocab = new CharVocab(info.vocab);
  let model: GPT;
  try {
    model = new GPT(info.config);
    await loadTrainingState(flags.checkpoint, { model });
  } catch (e) {
    if (e instanceof TesseraError) fail(`--checkpoint: ${e.message}`);
    throw e;
  }
  const generator = new Generator(flags.seed);
  const unknown = [...new Set(flags.prompt)].filter((c) => !vocab.chars.includes(c));
  if (unknown.length > 0) console.error(`note: the prompt has characters the model never saw (${JSON.stringify(unknown.join(''))})`);
  const lastStep = info.history.filter((p) => p.split === 'train').at(-1)?.step ?? 0;
  console.error(`${info.config.attention} GPT, ${model.numParameters().toLocaleString('en-US')} parameters, trained ${lastStep} steps on ${info.corpus}`);
  for (let i = 0; i < flags.num; i++) {
    if (flags.num > 1) process.stdout.write(`── sample ${i + 1} ──\n`);
    process.stdout.write(flags.prompt);
    await sampleText(model, vocab, flags.prompt, {
      length: flags.length,
      temperature: flags.temperature,
      topK: flags.topK,
      topP: flags.topP,
      generator,
      onChar: (c) => process.stdout.write(c),
    });
    process.stdout.write('\n');
  }
}

await main();
