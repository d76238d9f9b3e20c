import type { BenchCase } from '../harness.js';

/** Square float32 matrix products; 2·n³ floating-point operations each. */
export const matmulCases: BenchCase[] = [64, 128, 256].map((n) => ({
  id: `matmul f32 ${n}x${n}`,
  kind: 'matmul',
  params: { n },
  metric: { unit: 'GFLOP/s', flops: 2 * n ** 3 },
  about: `a.matmul(b) for two [${n}, ${n}] float32 tensors`,
}));
