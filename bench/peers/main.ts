/**
 * Child-process entry for one peer library at one thread count (backends/peers.ts starts it). Reads
 * {peer, threads, plan, cases} as JSON on stdin, times every case in this process, and prints
 * `RESULT_MARKER {describe, results: {case id: Outcome}}` as its last stdout line (libraries may print to stdout
 * themselves, so the marker finds the answer).
 */
import { planFor, timeRunner, type BenchCase, type Outcome, type SamplePlan } from '../harness.js';
import { RESULT_MARKER, type Peer } from './peer.js';

const PEERS: Record<string, (threads: number) => Promise<Peer>> = {
  'tfjs-wasm': async () => (await import('./tfjs.js')).tfjsPeer('wasm'),
  'tfjs-cpu': async () => (await import('./tfjs.js')).tfjsPeer('cpu'),
  'tfjs-webgpu': async () => (await import('./tfjs.js')).tfjsPeer('webgpu'),
  'jax-js': async (t) => (await import('./jax.js')).jaxPeer(t),
  onnxruntime: async (t) => (await import('./ort.js')).ortPeer(t),
};

const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0]!;

async function main(): Promise<void> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const job = JSON.parse(text) as { peer: string; threads: number; plan: SamplePlan; cases: BenchCase[] };
  const make = PEERS[job.peer];
  if (!make) throw new Error(`unknown peer '${job.peer}'`);
  const peer = await make(job.threads);
  const results: Record<string, Outcome> = {};
  for (const c of job.cases) {
    try {
      const r = await peer.prepare(c);
      results[c.id] = typeof r === 'string' ? { skip: r } : { samples: await timeRunner(r, planFor(c, job.plan)) };
    } catch (e) {
      results[c.id] = { skip: `failed: ${firstLine(e)}` };
    }
  }
  process.stdout.write(`\n${RESULT_MARKER} ${JSON.stringify({ describe: peer.describe(), results })}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${firstLine(e)}\n`);
    process.exit(1);
  },
);
