/**
 * `pnpm bench`: times each case on Tessera's backends and on peer libraries in one run and prints one table per
 * case family, medians side by side with speed ratios against our backend (the first column). Measurements only;
 * nothing here asserts a speed, and CI does not run it.
 *
 *   pnpm bench [--backend cpu|webgpu] [--cases matmul,attention,gpt,fma] [--filter TEXT,...] [--only NAME,...]
 *              [--quick] [--repeat N] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { listBackends } from '@tessera/core';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CPU_CASES, WEBGPU_CASES } from './cases/index.js';
import { FULL_PLAN, QUICK_PLAN, type BenchCase, type Contender, type Outcome } from './harness.js';
import { peerContender } from './backends/peers.js';
import { pytorchContender } from './backends/pytorch.js';
import { tesseraContender } from './backends/tessera.js';
import { FEWER_THREADS, renderTable, skipNotes } from './table.js';
import { useLavapipe } from './peers/dawn.js';

const USAGE = `Usage: pnpm bench [options]

  --backend NAME  cpu (default): our cpu backend against reference, PyTorch, onnxruntime-node, tfjs-wasm,
                  tfjs-cpu and jax-js; webgpu: our webgpu backend against tfjs-webgpu (same Dawn), our cpu
                  backend and PyTorch, on larger cases
  --cases LIST    case groups: ${Object.keys(CPU_CASES).join(',')},decode (webgpu: ${Object.keys(WEBGPU_CASES).join(',')}); default all
  --filter LIST   only cases whose name contains one of these texts (case-insensitive), e.g. '1024,GPT'
  --only LIST     only these columns (e.g. cpu,pytorch); the first listed is the base of the ratios
  --quick         fewer samples (a rough look, not for the record)
  --repeat N      run everything N times (columns in alternating order) and pool the samples: steadier medians on
                  a shared machine
  --json FILE     also write every sample (ms per run) as JSON`;

function flags() {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
      options: {
        backend: { type: 'string', default: 'cpu' },
        cases: { type: 'string' },
        filter: { type: 'string' },
        only: { type: 'string' },
        quick: { type: 'boolean' },
        json: { type: 'string' },
        repeat: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    if (values.backend !== 'cpu' && values.backend !== 'webgpu') throw new Error(`--backend must be cpu or webgpu, got '${values.backend}'`);
    return values as typeof values & { backend: 'cpu' | 'webgpu' };
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0]!;
const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

function selectCases(groups: Record<string, BenchCase[]>, list: string | undefined, filter: string | undefined): BenchCase[] {
  const names = list ? list.split(',').map((s) => s.trim()) : Object.keys(groups);
  const unknown = names.filter((n) => !groups[n]);
  if (unknown.length) {
    console.error(`error: unknown case group(s) ${unknown.join(', ')} (have: ${Object.keys(groups).join(', ')})`);
    process.exit(2);
  }
  const texts = filter?.toLowerCase().split(',').map((t) => t.trim());
  const cases = names.flatMap((n) => groups[n]!).filter((c) => !texts || texts.some((t) => c.id.toLowerCase().includes(t)));
  if (cases.length === 0) {
    console.error(`error: no case matches (cases: ${names.flatMap((n) => groups[n]!.map((c) => c.id)).join(', ')})`);
    process.exit(2);
  }
  return cases;
}

/** Loads our backends; returns why each is unavailable (null when it is registered). */
async function loadTessera(
  backend: 'cpu' | 'webgpu',
): Promise<{ cpu: string | null; webgpu: string | null; setCpuThreads?: (n: number) => void; adapter?: string }> {
  let cpu: string | null = null;
  let setCpuThreads: ((n: number) => void) | undefined;
  try {
    const mod = await import('@tessera/backend-cpu');
    setCpuThreads = mod.setNumThreads;
  } catch (e) {
    cpu = `@tessera/backend-cpu not loaded (${firstLine(e)})`;
  }
  let webgpu: string | null = 'not requested (--backend webgpu)';
  let adapter: string | undefined;
  if (backend === 'webgpu') {
    try {
      useLavapipe();
      const { initWebGPU } = await import('@tessera/backend-webgpu');
      const info = (await initWebGPU()).device.adapterInfo;
      adapter = info ? [info.description || info.device, info.vendor, info.architecture].filter(Boolean).join(', ') : undefined;
      webgpu = null;
    } catch (e) {
      webgpu = `@tessera/backend-webgpu unavailable (${firstLine(e)})`;
    }
  }
  return { cpu: cpu ?? (listBackends().includes('cpu') ? null : "backend 'cpu' is not registered"), webgpu, setCpuThreads, adapter };
}

function contendersFor(backend: 'cpu' | 'webgpu', t: Awaited<ReturnType<typeof loadTessera>>): Contender[] {
  const cpu = tesseraContender('cpu', () => t.cpu, {
    setThreads: t.setCpuThreads,
    about: 'Tessera, backend-cpu (WebAssembly SIMD128 kernels, worker threads; setNumThreads per row), in this process',
  });
  if (backend === 'webgpu') {
    return [
      tesseraContender('webgpu', () => t.webgpu, { about: `Tessera, backend-webgpu through Dawn (the webgpu package) on ${t.adapter ?? useLavapipe()}, in this process` }),
      cpu,
      peerContender('tfjs-webgpu', Infinity),
      pytorchContender(true),
    ];
  }
  return [
    cpu,
    tesseraContender('reference', () => null, {
      singleThreaded: true,
      skip: (c) => (c.kind === 'matmul' && c.params.n! <= 256 ? null : 'timed on matmul n ≤ 256 only (it is the correctness oracle, not a fast path)'),
      about: "Tessera's reference backend (plain TypeScript, one thread)",
    }),
    pytorchContender(),
    peerContender('onnxruntime', Infinity),
    peerContender('tfjs-wasm', 1),
    peerContender('tfjs-cpu', 1),
    peerContender('jax-js', Infinity),
  ];
}

/** The results restricted to some of the columns, in their order. */
function pick(results: Map<string, Outcome[]>, all: Contender[], columns: Contender[]): Map<string, Outcome[]> {
  const at = columns.map((c) => all.indexOf(c));
  return new Map([...results].map(([id, row]) => [id, at.map((i) => row[i]!)]));
}

async function main(): Promise<void> {
  const opts = flags();
  const plan = opts.quick ? QUICK_PLAN : FULL_PLAN;
  // Attention decoding (KV-cache bytes per token and ms per token at 1k/4k beside the spec's formula) is its own script:
  // it runs for `--cases decode` and at the end of a full cpu run.
  const groups = opts.cases?.split(',').map((s) => s.trim());
  const decode = opts.backend === 'cpu' && (!groups || groups.includes('decode'));
  const rest = groups?.filter((g) => g !== 'decode');
  if (rest && rest.length === 0) return runDecode(opts.quick ?? false);
  const cases = selectCases(opts.backend === 'webgpu' ? WEBGPU_CASES : CPU_CASES, rest?.join(','), opts.filter);
  const tessera = await loadTessera(opts.backend);
  const only = opts.only?.split(',').map((s) => s.trim());
  const all = contendersFor(opts.backend, tessera);
  const wanted = only ? only.map((n) => all.find((c) => c.name === n) ?? (console.error(`error: no column '${n}' (have: ${all.map((c) => c.name).join(', ')})`), process.exit(2))) : all;

  const started = Date.now();
  const loadBefore = os.loadavg();
  const notes = new Set<string>();
  const results = new Map<string, Outcome[]>(cases.map((c) => [c.id, wanted.map((): Outcome => ({ skip: 'not run' }))]));
  const usable = new Set<Contender>();
  const repeat = Math.max(1, Number(opts.repeat ?? 1));
  for (let round = 0; round < repeat; round++) {
    // Later rounds go through the columns in reverse, so no column always runs when the machine is busiest.
    const order = round % 2 ? [...wanted].reverse() : wanted;
    for (const c of order) {
      progress(`${repeat > 1 ? `round ${round + 1}/${repeat}: ` : ''}${c.name}`);
      const mine = c.ours ? cases : cases.filter((bc) => !bc.oursOnly);
      if (mine.length === 0) continue;
      const why = await c.setup(mine, plan);
      if (why) {
        notes.add(`${c.name}: not run: ${why}`);
        continue;
      }
      usable.add(c);
      for (const bc of mine) {
        let o: Outcome;
        try {
          o = await c.time(bc, plan);
        } catch (e) {
          o = { skip: `failed: ${firstLine(e)}` };
        }
        const row = results.get(bc.id)!;
        const i = wanted.indexOf(c);
        const had = row[i]!;
        // Samples of every round are pooled; the median is taken over all of them.
        row[i] = 'samples' in o && 'samples' in had ? { ...o, samples: [...had.samples, ...o.samples] } : 'samples' in had ? had : o;
      }
    }
  }
  const contenders = wanted.filter((c) => usable.has(c));
  for (const [id, row] of results) results.set(id, row.filter((_, i) => usable.has(wanted[i]!)));

  const cpuModel = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`Tessera benchmarks (--backend ${opts.backend}) — ${new Date().toISOString().slice(0, 10)}, ${cpuModel}, ${os.cpus().length} cores, Node ${process.version}`);
  console.log(`load average (1, 5, 15 min): ${load(loadBefore)} before, ${load(os.loadavg())} after; ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(
    `median of ${plan.minSamples}–${plan.maxSamples} runs after ${plan.warmup} warm-ups${repeat > 1 ? `, pooled over ${repeat} rounds` : ''} (runs over ${plan.slowRunMs} ms: ${plan.minSlowSamples}); ` +
      `(Nx) = speed relative to ${contenders[0]?.name ?? '-'} (higher is faster); ${FEWER_THREADS} = ran on fewer threads than the row asks\n`,
  );
  for (const family of [...new Set(cases.map((c) => c.family))]) {
    const rows = cases.filter((c) => c.family === family);
    console.log(`### ${family}\n`);
    // A Tessera-only family shows only Tessera's columns that ran it.
    const ran = (k: Contender) => rows.some((c) => 'samples' in results.get(c.id)![contenders.indexOf(k)]!);
    const columns = rows.every((c) => c.oursOnly) ? contenders.filter((k) => k.ours && ran(k)) : contenders;
    console.log(renderTable(rows, columns, pick(results, contenders, columns)));
    console.log();
  }
  for (const c of contenders) if (c.describe) console.log(`- ${c.describe()}`);
  for (const about of new Set(cases.map((c) => `${c.family}: ${c.about}`))) console.log(`- ${about}`);
  const shared = cases.filter((c) => !c.oursOnly);
  for (const n of [...notes, ...skipNotes(shared, contenders, results)]) console.log(`- note: ${n}`);
  if (opts.json) {
    const samples = Object.fromEntries(cases.map((c) => [c.id, Object.fromEntries(contenders.map((k, i) => [k.name, results.get(c.id)![i]]))]));
    writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), backend: opts.backend, plan, loadBefore, loadAfter: os.loadavg(), samples }, null, 1));
  }
  if (decode) runDecode(opts.quick ?? false);
}

/** packages/attention/bench/decode.ts on the cpu backend (reference beside it), printed as its own table. */
function runDecode(quick: boolean): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const args = ['--import', 'tsx', 'packages/attention/bench/decode.ts', '--backend', 'cpu', ...(quick ? ['--steps', '3'] : [])];
  progress('attention decode: KV-cache bytes and ms per token at context 1k and 4k');
  spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
}

await main();
// Backends and peers may keep worker threads alive; the tables are printed, so end here.
process.exit(0);
