/**
 * The pieces every benchmark shares: what a case is, what a contender (a Tessera backend or a peer library) must
 * provide, and how runs are timed. Benchmarks are measurements, never tests: nothing here asserts a speed.
 */

/** How a case's result is reported: throughput from the work one run does, or plain milliseconds. */
export type Metric =
  | { unit: 'GFLOP/s'; flops: number }
  | { unit: 'GB/s'; bytes: number }
  | { unit: 'ms'; tokens?: number };

/** What a contender must implement for a case. */
export type CaseKind = 'matmul' | 'fma' | 'attention' | 'attentionTrain' | 'gptStep' | 'mqarStep';

/** One workload. `params` are its sizes; `threads` is how many threads a contender may use. */
export interface BenchCase {
  id: string;
  /** The table it is printed in. */
  family: string;
  kind: CaseKind;
  params: Record<string, number>;
  threads: number;
  metric: Metric;
  /** One line saying exactly what is timed. */
  about: string;
  /** Overrides of the sample plan for this case (a run that takes half a minute is timed once). */
  plan?: Partial<SamplePlan>;
  /** Only Tessera's columns run it (a workload no peer has); its table shows only those columns. */
  oursOnly?: boolean;
}

/**
 * How many runs to time: warmups first, then samples until the budget is spent (within min and max). A run slower
 * than `slowRunMs` cuts the plan to one warmup and `minSlowSamples` samples, so slow contenders stay affordable.
 */
export interface SamplePlan {
  warmup: number;
  minSamples: number;
  maxSamples: number;
  budgetMs: number;
  slowRunMs: number;
  minSlowSamples: number;
}

export const FULL_PLAN: SamplePlan = { warmup: 2, minSamples: 7, maxSamples: 40, budgetMs: 2000, slowRunMs: 700, minSlowSamples: 3 };
export const QUICK_PLAN: SamplePlan = { warmup: 1, minSamples: 3, maxSamples: 8, budgetMs: 300, slowRunMs: 300, minSlowSamples: 2 };

/** The plan for one case: the run's plan with the case's overrides. */
export const planFor = (c: BenchCase, plan: SamplePlan): SamplePlan => ({ ...plan, ...c.plan });

/** Per-run milliseconds, or why a contender has no number for a case. */
export type Outcome = { samples: number[]; threadsUsed?: number } | { skip: string };

export interface Contender {
  name: string;
  /** One of Tessera's own backends (the others are peers). */
  ours?: boolean;
  /** Prepares for the given cases; resolves to null when usable, or to why it is not (the whole column is n/a). */
  setup(cases: readonly BenchCase[], plan: SamplePlan): Promise<string | null>;
  time(c: BenchCase, plan: SamplePlan): Promise<Outcome>;
  /** A few words shown under the tables (version, threads, …). */
  describe?(): string;
}

/** One prepared workload: run() does (and waits for) exactly one run; dispose() frees what prepare made. */
export interface Runner {
  run(): void | Promise<void>;
  dispose(): void | Promise<void>;
}

/** Times a runner in-process following the plan, then disposes it. */
export async function timeRunner(runner: Runner, plan: SamplePlan): Promise<number[]> {
  try {
    let slow = false;
    for (let i = 0; i < plan.warmup && !slow; i++) {
      const t0 = performance.now();
      await runner.run();
      slow = performance.now() - t0 > plan.slowRunMs;
    }
    const min = slow ? plan.minSlowSamples : plan.minSamples;
    const samples: number[] = [];
    const start = performance.now();
    while (samples.length < plan.maxSamples && (samples.length < min || (!slow && performance.now() - start < plan.budgetMs))) {
      const t0 = performance.now();
      await runner.run();
      samples.push(performance.now() - t0);
    }
    return samples;
  } finally {
    await runner.dispose();
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The reported value of a median run time: throughput for GFLOP/s and GB/s, the time itself for ms. */
export function score(metric: Metric, ms: number): number {
  if (metric.unit === 'GFLOP/s') return metric.flops / (ms * 1e6);
  if (metric.unit === 'GB/s') return metric.bytes / (ms * 1e6);
  return ms;
}

/** How many times faster `value` is than `base` (higher is better for every metric). */
export function speedup(metric: Metric, value: number, base: number): number {
  return metric.unit === 'ms' ? base / value : value / base;
}

/** Deterministic standard-normal float32 values (xorshift + Box–Muller), so every JS contender gets the same inputs. */
export function normalFloats(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = (seed * 2654435761) >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 1) / 4294967297;
  };
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(t);
    if (i + 1 < count) out[i + 1] = r * Math.sin(t);
  }
  return out;
}
