/**
 * MQAR benchmark: trains a tiny model per sequence mixer on multi-query associative recall and reports test accuracy
 * vs sequence length, KV-cache size and step time; writes the tables (markdown, JSON) and the plot (SVG, PNG).
 *
 *   npx tsx examples/mqar/run.ts [--steps 600] [--seqLens 64,128,256] [--modules mha,gqa,...] [--out docs/img]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Generator, getBackend, listBackends, setBackend, tensor } from '@tessera/core';
import { checkConfig } from './data.js';
import { buildModel, MIXER_NAMES, MIXERS } from './models.js';
import { svgToPng, vegaLiteToSvg } from '../train-gpt/plot.js';
import { accuracySpec, resultsMarkdown } from './report.js';
import { shapeFor, taskFor, trainModule, type ModuleResult, type Settings } from './train.js';

/** Where the results go unless --out says otherwise: the repository's docs/img, from any working directory. */
const DEFAULT_OUT = fileURLToPath(new URL('../../docs/img', import.meta.url));

/** Parameter counts may differ from the MHA model's by at most this fraction. */
const BUDGET_TOLERANCE = 0.1;

const int = (min: number) => (text: string) => {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}.`);
  return n;
};
const positive = (text: string) => {
  const n = Number(text);
  if (text.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number.');
  return n;
};
const intList = (text: string) => {
  const xs = text.split(',').map((t) => int(2)(t.trim()));
  if (new Set(xs).size !== xs.length) throw new InvalidArgumentError('lengths must be distinct.');
  return xs.sort((a, b) => a - b);
};
const moduleList = (text: string) => {
  const xs = text.split(',').map((t) => t.trim());
  const unknown = xs.filter((x) => !MIXERS[x]);
  if (unknown.length) throw new InvalidArgumentError(`unknown module ${unknown.join(', ')} (known: ${MIXER_NAMES.join(', ')}).`);
  return xs;
};

function command(): Command {
  return new Command('mqar')
    .description('Trains each sequence mixer on multi-query associative recall (a mixture of the lengths) and tests it at each length.')
    .option('--steps <n>', 'training steps per module', int(1), 600)
    .addOption(new Option('--seqLens <list>', 'sequence lengths, comma-separated').argParser(intList).default([64, 128, 256], '64,128,256'))
    .addOption(new Option('--modules <list>', 'mixers, comma-separated').argParser(moduleList).default(MIXER_NAMES, MIXER_NAMES.join(',')))
    .addOption(new Option('--out <dir>', 'directory for mqar-accuracy.{svg,png} and mqar-results.{md,json}').default(DEFAULT_OUT, 'docs/img'))
    .option('--tokensPerPair <n>', 'sequence tokens per key-value pair (N = T / n)', int(4), 8)
    .option('--keys <n>', 'size of the key range and of the value range (chance = 1/n)', int(2), 64)
    .option('--dim <n>', 'model width', int(8), 64)
    .option('--layers <n>', 'blocks', int(1), 2)
    .option('--heads <n>', 'attention heads', int(1), 4)
    .option('--lr <x>', 'AdamW learning rate', positive, 3e-3)
    .option('--tokensPerStep <n>', 'tokens per training step (batch = n / T)', int(2), 1024)
    .option('--testSequences <n>', 'held-out sequences per length', int(1), 256)
    .option('--seed <n>', 'seed of data and initialisation', int(0), 1)
    .option('--no-tokenShift', 'leave out the previous-token embedding (much slower to learn; see docs/mqar.md)')
    .addOption(new Option('--backend <name>', "'cpu' (default; falls back to reference) or 'reference'").choices(['cpu', 'reference']))
    .showHelpAfterError();
}

async function chooseBackend(requested: string | undefined): Promise<string | null> {
  if (requested === 'reference') {
    setBackend('reference');
    return null;
  }
  try {
    if (!listBackends().includes('cpu')) await import('@tessera/backend-cpu');
    setBackend('cpu');
    tensor([1, 2, 3]).mul(2).sum().itemSync();
    return null;
  } catch (e) {
    setBackend('reference');
    return `notice: the 'cpu' backend could not be loaded (${String((e as Error).message).split('\n')[0]}); using 'reference' (slow).`;
  }
}

async function main(): Promise<void> {
  const program = command();
  program.parse(process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')), { from: 'user' });
  const o = program.opts();
  const settings: Settings = {
    seqLens: o.seqLens, pairsPerToken: 1 / o.tokensPerPair, numKeys: o.keys, numValues: o.keys, dim: o.dim, layers: o.layers, heads: o.heads,
    tokenShift: o.tokenShift, steps: o.steps, tokensPerStep: o.tokensPerStep, lr: o.lr, warmupSteps: Math.max(1, Math.floor(o.steps / 20)),
    testSequences: o.testSequences, seed: o.seed,
  };
  const fail = (msg: string): never => {
    console.error(`error: ${msg}`);
    process.exit(1);
  };
  if (o.dim % o.heads !== 0 || (o.dim / o.heads) % 4 !== 0) fail(`--dim ${o.dim} / --heads ${o.heads} must be a multiple of 4 (MLA splits a head into rotary and plain halves)`);
  if (o.steps < settings.seqLens.length) fail(`--steps ${o.steps} is fewer than the ${settings.seqLens.length} lengths (steps cycle through them)`);
  for (const T of settings.seqLens) {
    try {
      checkConfig(taskFor(settings, T));
    } catch (e) {
      fail(`T=${T}: ${(e as Error).message}`);
    }
  }
  const notice = await chooseBackend(o.backend);
  if (notice) console.log(notice);

  const shape = shapeFor(settings);
  const reference = buildModel('mha', shape);
  const budget = reference.numParameters();
  for (const p of reference.parameters()) p.dispose();
  console.log(
    `MQAR — backend '${getBackend().name}', ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}\n` +
      `lengths ${settings.seqLens.join(', ')} (kv pairs = T/${o.tokensPerPair}, every key queried), keys/values ${o.keys} each, ` +
      `d=${o.dim}, ${o.layers} layers, ${o.heads} heads, ${o.steps} steps of ${o.tokensPerStep} tokens, lr ${o.lr}, seed ${o.seed}` +
      `${settings.tokenShift ? '' : ', no token shift'}\n\nparameters (budget: the MHA model, ${budget.toLocaleString('en-US')}; ±${100 * BUDGET_TOLERANCE}%):`,
  );
  for (const m of o.modules as string[]) {
    const model = buildModel(m, shape, { generator: new Generator(settings.seed) });
    const n = model.numParameters();
    const off = n / budget - 1;
    console.log(`  ${m.padEnd(11)} ${n.toLocaleString('en-US').padStart(9)}  (${off >= 0 ? '+' : ''}${(100 * off).toFixed(1)}%, MLP width ${model.mlpHidden}) — ${MIXERS[m]!.summary}`);
    for (const p of model.parameters()) p.dispose();
    if (Math.abs(off) > BUDGET_TOLERANCE) fail(`${m} has ${n} parameters, more than ${100 * BUDGET_TOLERANCE}% away from ${budget}; change --dim/--heads`);
  }

  const results: ModuleResult[] = [];
  const every = Math.max(1, Math.floor(o.steps / 5));
  for (const m of o.modules as string[]) {
    console.log(`\n${m}:`);
    let sum = 0;
    let count = 0;
    const r = await trainModule(m, settings, (step, _T, loss) => {
      sum += loss;
      count++;
      if (step % every === 0 || step === o.steps) {
        console.log(`  step ${String(step).padStart(5)}/${o.steps}  loss ${(sum / count).toFixed(3)}`);
        sum = count = 0;
      }
    });
    results.push(r);
    console.log(
      `  trained in ${r.trainSeconds.toFixed(1)} s; test accuracy ` +
        r.lengths.map((l) => `T=${l.seqLen}: ${(100 * l.accuracy).toFixed(1)}% (${l.msPerStep.toFixed(0)} ms/step)`).join(', '),
    );
  }

  const markdown = resultsMarkdown(results, settings);
  console.log(`\n${markdown}`);
  mkdirSync(o.out, { recursive: true });
  const svg = await vegaLiteToSvg(accuracySpec(results, settings));
  const files = {
    'mqar-results.md': markdown,
    'mqar-results.json': JSON.stringify({ date: new Date().toISOString(), backend: getBackend().name, cpu: os.cpus()[0]?.model.trim(), cores: os.cpus().length, settings, results }, null, 2) + '\n',
    'mqar-accuracy.svg': svg,
    'mqar-accuracy.png': svgToPng(svg, 1000),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(o.out, name), content);
  console.log(`wrote ${Object.keys(files).map((f) => relative(process.cwd(), join(o.out, f)) || f).join(', ')}`);
}

await main().catch((e: unknown) => {
  // A failure mid-run (e.g. a diverging loss) is one line, not a stack trace.
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
