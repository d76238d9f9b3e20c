import type { BenchCase } from '../harness.js';

function matmulCase(family: string, n: number, threads: number): BenchCase {
  return {
    id: `matmul ${n}x${n} · ${threads}t`,
    family,
    kind: 'matmul',
    params: { n },
    threads,
    metric: { unit: 'GFLOP/s', flops: 2 * n ** 3 },
    about: `a·b for two [${n}, ${n}] float32 matrices, 2·n³ flops`,
  };
}

/** Square float32 matrix products at 1 and 2 threads. */
export const matmulCases: BenchCase[] = [128, 256, 512, 1024].flatMap((n) => [1, 2].map((t) => matmulCase('matmul f32', n, t)));

/**
 * The WebGPU set: large products only (a GPU, even a software one, has no business below n = 1024). On lavapipe a
 * 4096 product takes about half a minute, so it is timed once, without a warm-up (pipelines compile in milliseconds);
 * on a GPU machine (scripts/gpu/on-device.sh sets TESSERA_BENCH_GPU_MACHINE) it gets the usual plan.
 */
const onGpuMachine = !!process.env.TESSERA_BENCH_GPU_MACHINE;
export const webgpuMatmulCases: BenchCase[] = [1024, 2048, 4096].map((n) => ({
  ...matmulCase('webgpu: matmul f32', n, 2),
  ...(n === 4096 && !onGpuMachine && { plan: { warmup: 0, minSamples: 1, maxSamples: 1, minSlowSamples: 1 } }),
}));
