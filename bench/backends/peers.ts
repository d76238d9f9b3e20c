/**
 * Peer libraries (tfjs, jax-js, onnxruntime-node), each timed in child processes of its own (bench/peers/main.ts):
 * one per thread count, because these libraries fix their threads when they start, and so that one library's
 * threads, memory and global state never touch another's timings. Children run one after another, never together.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchCase, Contender, Outcome, SamplePlan } from '../harness.js';
import { RESULT_MARKER } from '../peers/peer.js';

// A bundled bench (scripts/gpu/make-kit.sh, for a machine with no tsx) names its bundled peer entry instead.
const BUNDLED_ENTRY = process.env.TESSERA_BENCH_PEER_ENTRY;
const ENTRY = BUNDLED_ENTRY ?? fileURLToPath(new URL('../peers/main.ts', import.meta.url));
const CHILD_TIMEOUT_MS = 8 * 60_000;

interface ChildAnswer {
  describe: string;
  results: Record<string, Outcome>;
}

function runChild(job: object): Promise<ChildAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, BUNDLED_ENTRY ? [ENTRY] : ['--import', import.meta.resolve('tsx'), ENTRY], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (line) return resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as ChildAnswer);
      const why = err.trim().split('\n').filter((l) => !l.startsWith('npm warn')).at(-1) ?? '';
      reject(new Error(signal ? `killed by ${signal} (time limit ${CHILD_TIMEOUT_MS / 60_000} min)` : `exited with ${code}${why ? `: ${why}` : ''}`));
    });
    child.stdin.end(JSON.stringify(job));
  });
}

/** The work a case asks for, without its thread count: cases equal in this are the same run for a 1-thread peer. */
const workKey = (c: BenchCase) => `${c.kind} ${JSON.stringify(c.params)}`;

/**
 * A peer column. `maxThreads` is the most threads the library can use here; a case asking for more runs at
 * `maxThreads` (timed once and shown in each row, marked).
 */
export function peerContender(name: string, maxThreads: number): Contender {
  const outcomes = new Map<string, Outcome>();
  const described: string[] = [];
  return {
    name,
    async setup(cases: readonly BenchCase[], plan: SamplePlan) {
      const byThreads = new Map<number, Map<string, BenchCase[]>>();
      for (const c of cases) {
        const t = Math.min(c.threads, maxThreads);
        const group = byThreads.get(t) ?? new Map<string, BenchCase[]>();
        byThreads.set(t, group);
        group.set(workKey(c), [...(group.get(workKey(c)) ?? []), c]);
      }
      const failures: string[] = [];
      for (const [threads, group] of [...byThreads].sort((a, b) => a[0] - b[0])) {
        const representatives = [...group.values()].map((same) => same[0]!);
        try {
          const answer = await runChild({ peer: name, threads, plan, cases: representatives });
          if (!described.includes(answer.describe)) described.push(answer.describe);
          for (const same of group.values()) {
            const o = answer.results[same[0]!.id] ?? { skip: 'no result' };
            for (const c of same) outcomes.set(c.id, 'samples' in o && threads < c.threads ? { ...o, threadsUsed: threads } : o);
          }
        } catch (e) {
          failures.push(`${threads} thread(s): ${(e as Error).message}`);
          for (const same of group.values()) for (const c of same) outcomes.set(c.id, { skip: `could not run: ${(e as Error).message}` });
        }
      }
      return failures.length === byThreads.size ? failures.join('; ') : null;
    },
    async time(c: BenchCase): Promise<Outcome> {
      return outcomes.get(c.id) ?? { skip: 'not run' };
    },
    describe: () => `${name}: ${described.join(' / ') || 'n/a'}`,
  };
}
