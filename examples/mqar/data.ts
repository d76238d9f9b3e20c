/**
 * Multi-query associative recall (MQAR; Arora et al., "Zoology", 2023) as a seeded data generator.
 *
 * A sequence of `seqLen` tokens starts with `numPairs` key-value pairs k₁ v₁ k₂ v₂ …; after them, `numQueries`
 * distinct keys of the context reappear at random pair-aligned slots, each followed by its value (as in Zoology, the
 * answer is the next token, so the task reads as language modelling); every other position holds the filler token 0.
 * The model is scored only at the query-key positions: there, its next-token prediction must be the bound value.
 *
 * Vocabulary: 0 = filler, keys 1 … numKeys, values numKeys + 1 … numKeys + numValues (disjoint ranges). Keys of one
 * sequence are distinct; values are drawn with replacement.
 */

export interface MQARConfig {
  /** Tokens per sequence T. */
  seqLen: number;
  /** Key-value pairs in the context N (2N ≤ T). */
  numPairs: number;
  /** Queried keys Q (≤ N, and the query region T − 2N must hold Q pairs). */
  numQueries: number;
  /** Size of the key range (≥ N). */
  numKeys: number;
  /** Size of the value range; chance accuracy is 1 / numValues. */
  numValues: number;
}

/** A batch as flat row-major arrays. */
export interface MQARBatch {
  batch: number;
  seqLen: number;
  /** Token ids, [batch · seqLen]. */
  inputs: Int32Array;
  /** Flat indices (row · seqLen + position) of the query-key positions, [batch · numQueries], ordered by position. */
  queryIndex: Int32Array;
  /** The value each query position must predict, aligned with queryIndex. */
  targets: Int32Array;
}

/** Vocabulary size of a config: filler + keys + values. */
export const vocabSize = (c: MQARConfig): number => 1 + c.numKeys + c.numValues;

/** Throws a clear error for a config that cannot be laid out. */
export function checkConfig(c: MQARConfig): void {
  const ints = Object.entries(c).filter(([, v]) => !Number.isInteger(v) || v < 1);
  if (ints.length) throw new Error(`MQAR: ${ints.map(([k, v]) => `${k}=${v}`).join(', ')} must be positive integers`);
  if (c.numKeys < c.numPairs) throw new Error(`MQAR: numKeys ${c.numKeys} < numPairs ${c.numPairs}; keys of a sequence must be distinct`);
  if (c.numQueries > c.numPairs) throw new Error(`MQAR: numQueries ${c.numQueries} > numPairs ${c.numPairs}; each query asks a distinct context key`);
  const slots = Math.floor((c.seqLen - 2 * c.numPairs) / 2);
  if (slots < c.numQueries)
    throw new Error(`MQAR: seqLen ${c.seqLen} leaves room for ${Math.max(0, slots)} query pairs after ${c.numPairs} kv pairs, need ${c.numQueries}`);
}

/** SplitMix32-style seeded PRNG: deterministic across platforms, independent of the tensor generators. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.nextU32() / 0x1_0000_0000) * n);
  }
  /** The first k entries of a uniform shuffle of 0 … n − 1 (partial Fisher–Yates). */
  sample(n: number, k: number): number[] {
    const a = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a.slice(0, k);
  }
}

/** Draws `batch` MQAR sequences from `rng`. */
export function mqarBatch(c: MQARConfig, batch: number, rng: Rng): MQARBatch {
  checkConfig(c);
  const T = c.seqLen;
  const inputs = new Int32Array(batch * T);
  const queryIndex = new Int32Array(batch * c.numQueries);
  const targets = new Int32Array(batch * c.numQueries);
  const slots = Math.floor((T - 2 * c.numPairs) / 2);
  for (let b = 0; b < batch; b++) {
    const row = b * T;
    const keys = rng.sample(c.numKeys, c.numPairs).map((k) => 1 + k);
    const values = keys.map(() => 1 + c.numKeys + rng.int(c.numValues));
    for (let i = 0; i < c.numPairs; i++) {
      inputs[row + 2 * i] = keys[i]!;
      inputs[row + 2 * i + 1] = values[i]!;
    }
    const asked = rng.sample(c.numPairs, c.numQueries);
    const where = rng.sample(slots, c.numQueries).sort((x, y) => x - y);
    for (let q = 0; q < c.numQueries; q++) {
      const pos = 2 * c.numPairs + 2 * where[q]!;
      const pair = asked[q]!;
      inputs[row + pos] = keys[pair]!;
      inputs[row + pos + 1] = values[pair]!;
      queryIndex[b * c.numQueries + q] = row + pos;
      targets[b * c.numQueries + q] = values[pair]!;
    }
  }
  return { batch, seqLen: T, inputs, queryIndex, targets };
}
