/**
 * Trains a small character-level GPT and shows it learning: a progress display with loss, tokens/s and ETA, a sample
 * of generated text and the validation loss every --eval-every steps, the loss curve as out/loss.png, and a
 * safetensors checkpoint that `--resume` continues from bit-identically and examples/generate samples from.
 *
 *   pnpm start                                    # default corpus and model, about three minutes on two cores
 *   pnpm start --steps 300 --attention gqa        # see --help for every flag
 *   pnpm start --resume --steps 2000              # continue the last run to step 2000
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Generator, noGrad, scope, TesseraError, type Tensor } from '@tessera/core';
import { AdamW, clipGradNorm_, CosineWithWarmup, crossEntropy, loadTrainingState, saveTrainingState } from '@tessera/nn';
import { ATTENTION_CHOICES } from './attention-choices.js';
import { BackendUnavailableError, chooseBackend } from './backend.js';
import { CHECKPOINT_FILE, readCheckpointInfo, type GPTCheckpointExtra } from './checkpoint.js';
import { DEFAULT_LR, parseTrainArgs, RUN_DEFAULTS, type TrainOptions } from './cli.js';
import { CharDataset, CharVocab, readCorpus } from './data.js';
import { GPT, type GPTConfig } from './model.js';
import { lossCurvePng, type LossPoint } from './plot.js';
import { createProgress, formatDuration } from './progress.js';
import { sampleText } from './sample.js';

const VAL_FRACTION = 0.1;
const EVAL_BATCHES = 8;

/** Ends the run with a one-line error (bad input, missing files), never a stack trace. */
function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function configFromFlags(o: TrainOptions, vocabSize: number): GPTConfig {
  return {
    vocabSize,
    blockSize: o.block,
    hiddenSize: o.dim,
    numLayers: o.layers,
    numHeads: o.heads,
    numKvHeads: o.kvHeads ?? Math.max(1, Math.floor(o.heads / 2)),
    window: o.window ?? Math.max(1, Math.floor(o.block / 4)),
    attention: o.attention,
  };
}

/** Mean cross-entropy over the same validation windows every time (drawn from `seed`), so points compare. */
async function validationLoss(model: GPT, data: CharDataset, o: { batch: number; block: number }, seed: number): Promise<number> {
  const gen = new Generator(seed);
  model.eval();
  let total = 0;
  for (let i = 0; i < EVAL_BATCHES; i++) {
    const loss = scope(() =>
      noGrad(() => {
        const { x, y } = data.batch('val', o.batch, o.block, gen);
        return crossEntropy(model.forward(x).flatten(0, 1), y.flatten());
      }),
    );
    total += await loss.item();
    loss.dispose();
  }
  model.train();
  return total / EVAL_BATCHES;
}

async function main(): Promise<void> {
  const o = parseTrainArgs(process.argv.slice(2));
  let backend: { name: string; notice: string | null };
  try {
    backend = await chooseBackend(o.backend);
  } catch (e) {
    if (e instanceof BackendUnavailableError) fail(e.message);
    throw e;
  }
  if (backend.notice) console.log(backend.notice);

  mkdirSync(o.out, { recursive: true });
  const ckptPath = join(o.out, CHECKPOINT_FILE);
  const resumed = o.resume ? await readCheckpointInfo(ckptPath).catch((e) => fail(`--resume: ${errorText(e)}`)) : null;
  const dataPath = o.data !== undefined ? resolve(o.data) : (resumed?.dataPath ?? undefined);
  let corpus: { text: string; source: string };
  try {
    corpus = readCorpus(dataPath);
  } catch (e) {
    fail(`--data: cannot read '${dataPath}': ${errorText(e)}`);
  }
  const vocab = resumed ? new CharVocab(resumed.vocab) : CharVocab.fromText(corpus.text);
  const config = resumed?.config ?? configFromFlags(o, vocab.size);
  const runDefaults = RUN_DEFAULTS[backend.name] ?? RUN_DEFAULTS.cpu!;
  const steps = o.steps ?? resumed?.totalSteps ?? runDefaults.steps;
  const batch = o.batch ?? resumed?.batch ?? runDefaults.batch;
  const lr = o.lr ?? resumed?.lr ?? DEFAULT_LR;
  const evalEvery = o.evalEvery ?? resumed?.evalEvery ?? Math.max(1, Math.ceil(steps / 5));
  const seed = resumed?.seed ?? o.seed;
  const tokensPerStep = batch * config.blockSize;
  if (corpus.text.length < 10 * (config.blockSize + 2)) fail(`the corpus has ${corpus.text.length} characters; it needs at least ${10 * (config.blockSize + 2)} for --block ${config.blockSize}`);

  const initGen = new Generator(seed);
  let model: GPT;
  try {
    model = new GPT(config, { generator: initGen });
  } catch (e) {
    if (e instanceof TesseraError) fail(`cannot build the model (check --dim, --heads, --kv-heads, --window): ${errorText(e)}`);
    throw e;
  }
  const data = new CharDataset(vocab.encode(corpus.text), VAL_FRACTION);
  const dataGen = new Generator(seed + 1);
  const sampleGen = new Generator(seed + 2);
  const optimizer = new AdamW(model.parameters(), { lr, betas: [0.9, 0.99], weightDecay: 0.01 });
  const scheduler = new CosineWithWarmup(optimizer, { warmupSteps: Math.min(100, Math.floor(steps / 10)), totalSteps: steps, minLr: lr / 10 });
  const auxLoss = ATTENTION_CHOICES[config.attention]!.auxLoss;

  let step = 0;
  const history: LossPoint[] = resumed?.history ?? [];
  if (resumed) {
    const loaded = await loadTrainingState(ckptPath, { model, optimizer, scheduler, generator: dataGen }).catch((e) => fail(`--resume: ${errorText(e)}`));
    step = loaded.step ?? 0;
    if (step >= steps) fail(`the checkpoint in ${o.out} is already at step ${step}; pass --steps larger than ${step} to train further`);
  }

  console.log(
    `corpus: ${corpus.source}, ${corpus.text.length.toLocaleString('en-US')} characters, vocabulary ${vocab.size}\n` +
      `model: ${config.numLayers} blocks with '${config.attention}': ${ATTENTION_CHOICES[config.attention]!.summary}; ` +
      `width ${config.hiddenSize}, ${config.numHeads} heads, context ${config.blockSize}; ${model.numParameters().toLocaleString('en-US')} parameters\n` +
      `training: ${resumed ? `resuming at step ${step} of ` : ''}${steps} steps of ${batch}×${config.blockSize} characters, AdamW lr ${lr}, backend '${backend.name}'`,
  );

  // A fresh run starts a fresh samples file; a resumed one appends to it.
  if (!resumed) rmSync(join(o.out, 'samples.txt'), { force: true });
  const extra = (): GPTCheckpointExtra => ({ config, vocab: vocab.toString(), corpus: corpus.source, dataPath: dataPath ?? null, totalSteps: steps, batch, lr, evalEvery, history, seed });
  const checkpoint = () => saveTrainingState(ckptPath, { model, optimizer, scheduler, step, generator: dataGen, extra: extra() });
  const writePlot = async () => writeFileSync(join(o.out, 'loss.png'), await lossCurvePng(history, `char-level GPT (${config.attention}) on ${basename(corpus.source.split(' ')[0]!)}`));

  const progress = createProgress(step, steps, Math.max(1, Math.round(steps / 25)));
  let stopRequested = false;
  // First Ctrl-C: finish the step, save, stop. A second one (not the duplicate that tsx relays at once) quits.
  let interruptedAt = 0;
  process.on('SIGINT', () => {
    if (interruptedAt === 0) {
      interruptedAt = performance.now();
      stopRequested = true;
      progress.log('interrupted: saving a checkpoint after this step (Ctrl-C again to quit at once)');
    } else if (performance.now() - interruptedAt > 500) process.exit(130);
  });

  const evaluate = async () => {
    const val = await validationLoss(model, data, { batch, block: config.blockSize }, seed + 3);
    history.push({ step, loss: val, split: 'validation' });
    const text = await sampleText(model, vocab, '\n', { length: o.sampleLength, temperature: o.temperature, generator: sampleGen });
    progress.log(`\n── step ${step}: validation loss ${val.toFixed(4)} ─ sample ──\n${text}\n──`);
    appendFileSync(join(o.out, 'samples.txt'), `── step ${step}, validation loss ${val.toFixed(4)} ──\n${text}\n\n`);
    await checkpoint();
    await writePlot();
  };

  const firstStep = step;
  const started = performance.now();
  let rate = 0;
  model.train();
  while (step < steps && !stopRequested) {
    const t0 = performance.now();
    const loss = scope(() => {
      const { x, y } = data.batch('train', batch, config.blockSize, dataGen);
      let l: Tensor = crossEntropy(model.forward(x).flatten(0, 1), y.flatten());
      const aux = auxLoss?.(model);
      const total = aux ? l.add(aux) : l;
      optimizer.zeroGrad();
      total.backward();
      clipGradNorm_(model.parameters(), 1.0);
      optimizer.step();
      scheduler.step();
      return l.detach();
    });
    const value = await loss.item();
    loss.dispose();
    if (!Number.isFinite(value)) fail(`the loss became ${value} at step ${step + 1}; try a smaller --lr`);
    step++;
    history.push({ step, loss: value, split: 'train' });
    const stepRate = tokensPerStep / ((performance.now() - t0) / 1000);
    rate = rate === 0 ? stepRate : 0.9 * rate + 0.1 * stepRate;
    progress.update({ step, loss: value, tokensPerSecond: rate });
    if (step % evalEvery === 0 || step === steps) await evaluate();
  }
  if (stopRequested && step % evalEvery !== 0) {
    await checkpoint();
    await writePlot();
  }
  progress.stop();
  if (stopRequested) console.log(`\nstopped at step ${step} of ${steps}; continue with --resume --out ${o.out}`);
  const train = history.filter((p) => p.split === 'train');
  const vals = history.filter((p) => p.split === 'validation');
  const mean = (ps: LossPoint[]) => (ps.reduce((a, p) => a + p.loss, 0) / ps.length).toFixed(3);
  const window = Math.min(20, Math.ceil(train.length / 4));
  console.log(
    `\ndone: step ${step} (${step - firstStep} this run, ${formatDuration((performance.now() - started) / 1000)}); training loss (mean of ${window} step${window > 1 ? 's' : ''}) ` +
      `${mean(train.slice(0, window))} at the start → ${mean(train.slice(-window))} at the end` +
      `${vals.length ? `; validation ${vals[0]!.loss.toFixed(3)} at step ${vals[0]!.step} → ${vals.at(-1)!.loss.toFixed(3)}` : ''}\n` +
      `wrote ${ckptPath}, ${join(o.out, 'loss.png')}, ${join(o.out, 'samples.txt')}\n` +
      `sample more: npx tsx examples/generate/main.ts --checkpoint ${ckptPath} --prompt 'interface '`,
  );
  data.dispose();
}

await main();
