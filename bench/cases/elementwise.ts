import type { BenchCase } from '../harness.js';

/** a*b+c as written (two ops, not fused): effective bandwidth, 16 bytes per element (3 reads, 1 write). */
export const elementwiseCases: BenchCase[] = [
  { n: 1 << 20, label: '1M' },
  { n: 1 << 24, label: '16M' },
].map(({ n, label }) => ({
  id: `a*b+c ${label} · 2t`,
  family: 'a*b+c f32',
  kind: 'fma',
  params: { n },
  threads: 2,
  metric: { unit: 'GB/s', bytes: 16 * n },
  about: `a*b+c on three [${n}] float32 vectors as two ops (a temporary in between), 16 bytes per element counted`,
}));
