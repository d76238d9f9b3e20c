/**
 * Cross-attention (spec §5.1): queries from one sequence X_q [B, L, d_q], keys and values from another X_kv
 * [B, S, d_kv] of any length and width; no causal mask and no RoPE. For decoding, the source's K/V are computed once
 * ({@link CrossAttention.precompute}) and reused for every generated token.
 *
 * Parameter names are configurable so the same module loads different checkpoints: q_proj/k_proj/v_proj/o_proj by
 * default, wq/wk/wv/proj for CrossViT (see crossvit.ts).
 */
import { ArgumentError, fmtShape, ShapeError, Tensor } from '@tessera/core';
import { Module, type FactoryOptions, type Linear } from '@tessera/nn';
import { crossAttentionFlops, type FlopCount } from './costs.js';
import { checkPositiveInts, checkSequence, makeLinear, mergeHeads, splitHeads, type LinearInit } from './heads.js';
import { StaticKVCache } from './kv-cache.js';
import { paddingToKeyMask } from './masks.js';
import { attentionCore } from './sdpa.js';

/** Attribute (and so state-dict) names of the four projections. */
export interface ProjectionNames {
  query: string;
  key: string;
  value: string;
  output: string;
}

export interface CrossAttentionOptions extends FactoryOptions {
  /** Query input width d_q. */
  queryDim: number;
  /** Source (key/value input) width d_kv (default d_q). */
  sourceDim?: number;
  numHeads: number;
  /** Query/key head dim (default d_q / H). */
  headDim?: number;
  /** Value head dim (default headDim). */
  valueHeadDim?: number;
  /** Output width (default d_q). */
  outDim?: number;
  /** Biases on the q/k/v projections (default true). */
  bias?: boolean;
  /** Bias on the output projection (default: same as `bias`). */
  outputBias?: boolean;
  /** Dropout on the attention weights in training mode (default 0). */
  attentionDropout?: number;
  /** Score scale (default 1/√headDim). */
  scale?: number;
  /** Linear initialisation (default PyTorch's Linear default). */
  init?: LinearInit;
  /** Projection attribute names (default q_proj, k_proj, v_proj, o_proj). */
  names?: Partial<ProjectionNames>;
}

export interface CrossAttentionForwardOptions {
  /** [B, S] source mask: 1/true = real token, 0/false = padding (ignored when the source is a precomputed cache). */
  sourceMask?: Tensor | null;
}

const DEFAULT_NAMES: ProjectionNames = { query: 'q_proj', key: 'k_proj', value: 'v_proj', output: 'o_proj' };

/** Multi-head cross-attention between two sequences, with a static K/V cache for the source. */
export class CrossAttention extends Module {
  readonly queryDim: number;
  readonly sourceDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly valueHeadDim: number;
  readonly outDim: number;
  readonly attentionDropout: number;
  readonly scale: number | undefined;
  readonly names: ProjectionNames;
  readonly generator: FactoryOptions['generator'];

  constructor(opts: CrossAttentionOptions) {
    super();
    const { queryDim, numHeads, bias = true, init = 'default' } = opts;
    const sourceDim = opts.sourceDim ?? queryDim;
    checkPositiveInts('CrossAttention', { queryDim, sourceDim, numHeads, headDim: opts.headDim, valueHeadDim: opts.valueHeadDim, outDim: opts.outDim });
    if (opts.headDim === undefined && queryDim % numHeads !== 0)
      throw new ArgumentError(`CrossAttention: queryDim ${queryDim} is not divisible by numHeads ${numHeads}; pass headDim`);
    const p = opts.attentionDropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new ArgumentError(`CrossAttention: attentionDropout must be within [0, 1), got ${p}`);
    this.queryDim = queryDim;
    this.sourceDim = sourceDim;
    this.numHeads = numHeads;
    this.headDim = opts.headDim ?? queryDim / numHeads;
    this.valueHeadDim = opts.valueHeadDim ?? this.headDim;
    this.outDim = opts.outDim ?? queryDim;
    this.attentionDropout = p;
    this.scale = opts.scale;
    this.generator = opts.generator;
    this.names = { ...DEFAULT_NAMES, ...opts.names };
    const H = numHeads;
    const self = this as unknown as Record<string, Linear>;
    self[this.names.query] = makeLinear(queryDim, H * this.headDim, bias, init, opts);
    self[this.names.key] = makeLinear(sourceDim, H * this.headDim, bias, init, opts);
    self[this.names.value] = makeLinear(sourceDim, H * this.valueHeadDim, bias, init, opts);
    self[this.names.output] = makeLinear(H * this.valueHeadDim, this.outDim, opts.outputBias ?? bias, init, opts);
  }

  /** The projection registered under a role's name. */
  projection(role: keyof ProjectionNames): Linear {
    return (this as unknown as Record<string, Linear>)[this.names[role]]!;
  }

  /** Computes the source's keys and values once: a static cache for every later query (spec §5.1). */
  precompute(source: Tensor, opts: CrossAttentionForwardOptions = {}): StaticKVCache {
    const kv = this.projectSource(source, opts.sourceMask ?? null);
    return new StaticKVCache(kv.keys, kv.values, kv.keyMask);
  }

  private projectSource(source: Tensor, sourceMask: Tensor | null): { keys: Tensor; values: Tensor; keyMask: Tensor | null } {
    checkSequence('CrossAttention', 'source', source, this.sourceDim);
    const keys = splitHeads(this.projection('key').forward(source), this.numHeads, this.headDim);
    const values = splitHeads(this.projection('value').forward(source), this.numHeads, this.valueHeadDim);
    const keyMask = sourceMask ? paddingToKeyMask(sourceMask, source.shape[1]) : null;
    if (keyMask && keyMask.shape[0] !== source.shape[0])
      throw new ShapeError(`CrossAttention: sourceMask ${fmtShape(sourceMask!.shape)} does not match the source batch ${source.shape[0]}`);
    return { keys, values, keyMask };
  }

  /** query [B, L, d_q] attends to source [B, S, d_kv] (or a precomputed cache) → [B, L, outDim]. */
  override forward(query: Tensor, source: Tensor | StaticKVCache, opts: CrossAttentionForwardOptions = {}): Tensor {
    checkSequence('CrossAttention', 'query', query, this.queryDim);
    const kv = source instanceof StaticKVCache ? source : this.projectSource(source, opts.sourceMask ?? null);
    if (kv.keys.shape[0] !== query.shape[0])
      throw new ShapeError(`CrossAttention: the source batch ${kv.keys.shape[0]} does not match the query batch ${query.shape[0]}`);
    const q = splitHeads(this.projection('query').forward(query), this.numHeads, this.headDim);
    const out = attentionCore('CrossAttention', q, kv.keys, kv.values, {
      attnMask: kv.keyMask,
      scale: this.scale,
      dropoutP: this.training ? this.attentionDropout : 0,
      training: this.training,
      generator: this.generator,
    }).output;
    return this.projection('output').forward(mergeHeads(out));
  }

  /** KV-cache elements per *source* token, computed once: H·(d_h + d_v) (spec §5.1). */
  kvCacheElementsPerSourceToken(): number {
    return this.numHeads * (this.headDim + this.valueHeadDim);
  }

  /** FLOPs per query token (attending to S source tokens) and per source token (once), spec §5.1. */
  flops(S: number): { perQueryToken: FlopCount; perSourceToken: number } {
    return crossAttentionFlops(this, S);
  }

  override extraRepr(): string {
    return `queryDim=${this.queryDim}, sourceDim=${this.sourceDim}, numHeads=${this.numHeads}, headDim=${this.headDim}, outDim=${this.outDim}`;
  }
}
