import type { BenchCase } from '../harness.js';

const N = 1 << 20;

/** a*b+c on 1M float32 values: reported as effective bandwidth, 16 bytes per element (3 reads, 1 write). */
export const elementwiseCases: BenchCase[] = [
  {
    id: 'a*b+c f32 1M',
    kind: 'fma',
    params: { n: N },
    metric: { unit: 'GB/s', bytes: 16 * N },
    about: `a.mul(b).add(c) on three [${N}] float32 tensors (as written, not fused)`,
  },
];
