/**
 * Named configurations of {@link GroupedQueryAttention}: each subclass only maps its paper's hyper-parameters onto
 * the shared module (same forward, caches, masks and parameter names).
 */
import { ArgumentError } from '@tessera/core';
import { GroupedQueryAttention, type GroupedQueryAttentionOptions } from './grouped.js';

/** Multi-query attention (Shazeer 2019): one key/value head shared by every query head. */
export class MultiQueryAttention extends GroupedQueryAttention {
  constructor(opts: Omit<GroupedQueryAttentionOptions, 'numKvHeads'>) {
    super({ ...opts, numKvHeads: 1 });
  }
}

export interface SparseQueryAttentionOptions extends Omit<GroupedQueryAttentionOptions, 'numHeads' | 'numKvHeads'> {
  /** Heads H of the baseline MHA; fixes the head dim d_h = d / H. */
  numHeads: number;
  /** Query heads H_q < H (sSQA: H/2; xSQA: ≤ H/4). */
  numQueryHeads: number;
  /** Key/value heads H_kv ≤ H_q (dividing H_q). */
  numKvHeads: number;
}

/**
 * Sparse Query Attention (Filipek 2025; spec §9.1): H_q < H query heads with the baseline head dim d/H, so the score
 * FLOPs shrink by H/H_q; KV heads are shared with the GQA mapping. Defaults follow rxlm: PyTorch Linear init, no
 * q/k/v bias, a bias on the output projection. (rxlm's "reverse SQA", H_q < H_kv, tiles heads differently and is
 * not supported.)
 */
export class SparseQueryAttention extends GroupedQueryAttention {
  readonly baselineHeads: number;
  constructor(opts: SparseQueryAttentionOptions) {
    const { numHeads, numQueryHeads, numKvHeads, hiddenSize } = opts;
    if (!(numQueryHeads >= 1 && numQueryHeads <= numHeads))
      throw new ArgumentError(`SparseQueryAttention: numQueryHeads must be within [1, numHeads = ${numHeads}], got ${numQueryHeads}`);
    if (numKvHeads > numQueryHeads)
      throw new ArgumentError(`SparseQueryAttention: numKvHeads ${numKvHeads} > numQueryHeads ${numQueryHeads} ("reverse SQA") is not supported`);
    if (opts.headDim === undefined && hiddenSize % numHeads !== 0)
      throw new ArgumentError(`SparseQueryAttention: hiddenSize ${hiddenSize} is not divisible by the baseline numHeads ${numHeads}; pass headDim`);
    super({
      init: 'default',
      bias: false,
      outputBias: true,
      ...opts,
      numHeads: numQueryHeads,
      numKvHeads,
      headDim: opts.headDim ?? hiddenSize / numHeads,
    });
    this.baselineHeads = numHeads;
  }
}

/** Sliding-window attention (Mistral; spec §9.5): query i sees keys j with 0 ≤ i − j < window; rolling-buffer cache. */
export class SlidingWindowAttention extends GroupedQueryAttention {
  constructor(opts: GroupedQueryAttentionOptions & { slidingWindow: number }) {
    if (opts.slidingWindow == null) throw new ArgumentError('SlidingWindowAttention: slidingWindow is required');
    super(opts);
  }
}

export interface SigmoidAttentionOptions extends Omit<GroupedQueryAttentionOptions, 'scoreFunction'> {
  /** Sequence length n for the recommended bias b = −ln n (used when sigmoidBias is not given). */
  sequenceLength?: number;
}

/**
 * Sigmoid attention (Ramapuram et al. 2024; spec §9.3): σ(q·kᵀ/√d_h + b) weights with no normalisation over keys.
 * b is `sigmoidBias`, or −ln(sequenceLength). Initialisation defaults to the reference simulator's truncated normal
 * (std 0.02, zero biases).
 */
export class SigmoidAttention extends GroupedQueryAttention {
  constructor(opts: SigmoidAttentionOptions) {
    const n = opts.sequenceLength;
    if (opts.sigmoidBias === undefined && !(n !== undefined && Number.isInteger(n) && n >= 1))
      throw new ArgumentError('SigmoidAttention: pass sigmoidBias, or sequenceLength n for the recommended bias −ln n');
    super({ init: { truncNormal: 0.02 }, ...opts, scoreFunction: 'sigmoid', sigmoidBias: opts.sigmoidBias ?? -Math.log(n!) });
  }
}

/**
 * The attention layers of a Cross-Layer Attention stack (Brandon et al. 2024; spec §9.2): in each block of
 * `sharingFactor` consecutive layers the first computes (and caches) K and V, the others only have q_proj/o_proj
 * and attend to the first layer's K/V. Pass each producer's `kv` (from forwardWithKV) as `sharedKV` to the
 * consumers of its block.
 */
export function crossLayerAttentionLayers(numLayers: number, sharingFactor: number, opts: GroupedQueryAttentionOptions): GroupedQueryAttention[] {
  if (!Number.isInteger(numLayers) || numLayers < 1) throw new ArgumentError(`crossLayerAttentionLayers: numLayers must be a positive integer, got ${numLayers}`);
  if (!Number.isInteger(sharingFactor) || sharingFactor < 1)
    throw new ArgumentError(`crossLayerAttentionLayers: sharingFactor must be a positive integer, got ${sharingFactor}`);
  return Array.from({ length: numLayers }, (_, l) => new GroupedQueryAttention({ ...opts, ownsKeyValues: l % sharingFactor === 0 }));
}

/**
 * KV-cache elements per token for a whole stack of layers: the sum over layers that keep a cache. For CLA with
 * sharing factor s this is ⌈n_layers/s⌉·2·H_kv·d_h, i.e. the spec's (n_layers/s)·2·H_kv·d_h (§9.2).
 */
export function stackCacheElementsPerToken(layers: readonly GroupedQueryAttention[]): number {
  return layers.reduce((n, l) => n + l.kvCacheElementsPerToken(), 0);
}
