/**
 * The pieces every benchmark shares: what a case is, what a contender (a Tessera backend or a peer library) must
 * provide, and how in-process runs are timed. Benchmarks are measurements, never tests: nothing here asserts a speed.
 */

/** How a case's result is reported: throughput from the work one run does, or plain milliseconds. */
export type Metric = { unit: 'GFLOP/s'; flops: number } | { unit: 'GB/s'; bytes: number } | { unit: 'ms' };

/** One workload. `kind` names what a contender must implement; `params` are its sizes. */
export interface BenchCase {
  id: string;
  kind: 'matmul' | 'fma' | 'softmax' | 'mlpStep';
  params: Record<string, number>;
  metric: Metric;
  /** One line saying exactly what is timed. */
  about: string;
}

/** How many runs to time: warmups first, then samples until the budget is spent (within min and max). */
export interface SamplePlan {
  warmup: number;
  minSamples: number;
  maxSamples: number;
  budgetMs: number;
}

export interface Contender {
  name: string;
  /** Prepares for the given cases; resolves to null when usable, or to why it is not (shown as n/a). */
  setup(cases: readonly BenchCase[], plan: SamplePlan): Promise<string | null>;
  /** Milliseconds per run for each sample, or null when this contender does not implement the case. */
  time(c: BenchCase, plan: SamplePlan): Promise<number[] | null>;
  /** A few words shown under the table (version, threads, …). */
  describe?(): string;
}

/** One prepared workload: run() does (and waits for) exactly one run; dispose() frees what prepare made. */
export interface Runner {
  run(): void | Promise<void>;
  dispose(): void;
}

/** Times a runner in-process following the plan. */
export async function timeRunner(runner: Runner, plan: SamplePlan): Promise<number[]> {
  try {
    for (let i = 0; i < plan.warmup; i++) await runner.run();
    const samples: number[] = [];
    const start = performance.now();
    while (samples.length < plan.maxSamples && (samples.length < plan.minSamples || performance.now() - start < plan.budgetMs)) {
      const t0 = performance.now();
      await runner.run();
      samples.push(performance.now() - t0);
    }
    return samples;
  } finally {
    runner.dispose();
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
