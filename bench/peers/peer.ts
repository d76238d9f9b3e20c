/** What a peer library provides to bench/peers/main.ts, which runs it in a child process of its own. */
import type { BenchCase, Runner } from '../harness.js';

export interface Peer {
  /** Version and configuration, shown under the tables. */
  describe(): string;
  /** A prepared runner for the case, or why this peer does not run it. */
  prepare(c: BenchCase): Promise<Runner | string>;
}

/** Builds a peer for a thread count (threads are fixed at library start-up, hence one process per count). */
export type PeerFactory = (threads: number) => Promise<Peer>;

/** Starts the child's answer line on stdout (libraries may print there too). */
export const RESULT_MARKER = '@@bench-result';

export const NOT_IMPLEMENTED = 'not implemented for this peer';

/** A causal mask as additive float32 [S, S]: 0 where key ≤ query, −∞ above the diagonal. */
export function additiveCausalMask(S: number): Float32Array {
  const m = new Float32Array(S * S);
  for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) m[i * S + j] = -Infinity;
  return m;
}
