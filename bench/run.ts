/**
 * `pnpm bench`: times every case on every contender and prints one table, medians side by side with speed ratios
 * against the first contender (Tessera's reference backend). Measurements only; nothing here asserts a speed.
 *
 *   pnpm bench [--filter TEXT] [--only NAME,NAME] [--quick]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { listBackends } from '@tessera/core';
import { ALL_CASES } from './cases/index.js';
import { median, score, speedup, type BenchCase, type Contender, type SamplePlan } from './harness.js';
import { pytorchContender } from './backends/pytorch.js';
import { loadTesseraBackends, tesseraContender } from './backends/tessera.js';

const USAGE = `Usage: pnpm bench [--filter TEXT] [--only NAME,NAME] [--quick]

  --filter TEXT   only cases whose name contains TEXT (case-insensitive)
  --only LIST     only these contenders (e.g. reference,pytorch)
  --quick         fewer samples (a rough look, not for the record)`;

function flags() {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
      options: { filter: { type: 'string' }, only: { type: 'string' }, quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return values;
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));

function printTable(cases: BenchCase[], contenders: Contender[], results: Map<string, (number | null)[]>): void {
  const header = ['case', 'unit', ...contenders.map((c) => c.name)];
  const rows = cases.map((c) => {
    const medians = results.get(c.id)!;
    const base = medians[0];
    const cells = medians.map((ms, i) => {
      if (ms == null) return 'n/a';
      const v = fmt(score(c.metric, ms));
      return i === 0 || base == null ? v : `${v} (${fmt(speedup(c.metric, score(c.metric, ms), score(c.metric, base)))}x)`;
    });
    return [c.id, c.metric.unit, ...cells];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((s, i) => (i < 2 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const opts = flags();
  const plan: SamplePlan = opts.quick
    ? { warmup: 1, minSamples: 3, maxSamples: 10, budgetMs: 300 }
    : { warmup: 2, minSamples: 7, maxSamples: 50, budgetMs: 2000 };
  const cases = ALL_CASES.filter((c) => !opts.filter || c.id.toLowerCase().includes(opts.filter.toLowerCase()));
  if (cases.length === 0) {
    console.error(`error: no case matches '${opts.filter}' (cases: ${ALL_CASES.map((c) => c.id).join(', ')})`);
    process.exit(2);
  }
  const notes = await loadTesseraBackends();
  const only = opts.only?.split(',').map((s) => s.trim());
  const all: Contender[] = [...listBackends().map(tesseraContender), pytorchContender()];
  const wanted = all.filter((c) => !only || only.includes(c.name));

  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`Tessera benchmarks — ${new Date().toISOString().slice(0, 10)}, ${cpu}, ${os.cpus().length} cores, Node ${process.version}`);
  console.log(`median of ${plan.minSamples}–${plan.maxSamples} runs after ${plan.warmup} warmups; (Nx) = speed relative to ${wanted[0]?.name ?? '-'}\n`);

  const contenders: Contender[] = [];
  for (const c of wanted) {
    const why = await c.setup(cases, plan);
    if (why) notes.push(`${c.name}: ${why}`);
    else contenders.push(c);
  }
  const results = new Map<string, (number | null)[]>();
  for (const bc of cases) {
    const medians: (number | null)[] = [];
    for (const c of contenders) {
      try {
        const samples = await c.time(bc, plan);
        medians.push(samples && samples.length ? median(samples) : null);
      } catch (e) {
        // A backend still being written may fail a case; show n/a and say why rather than losing the table.
        notes.push(`${c.name} failed '${bc.id}': ${String((e as Error).message).split('\n')[0]}`);
        medians.push(null);
      }
    }
    results.set(bc.id, medians);
  }
  printTable(cases, contenders, results);
  console.log();
  for (const c of contenders) if (c.describe) console.log(`- ${c.describe()}`);
  for (const bc of cases) console.log(`- ${bc.id}: ${bc.about}`);
  for (const n of notes) console.log(`- note: ${n}`);
}

await main();
// Backends may keep worker threads alive; the table is printed, so end here.
process.exit(0);
