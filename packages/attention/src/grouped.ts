/**
 * LLaMA-style self-attention with H query heads and H_kv key/value heads (spec §4): H_kv = H is MHA, H_kv = 1 is
 * MQA, anything dividing H is GQA. Parameter names follow Hugging Face (q_proj, k_proj, v_proj, o_proj; weights
 * [out, in]) so checkpoints load with loadStateDict.
 *
 * The same module, configured, is also sliding-window attention (§9.5), sigmoid attention (§9.3), Sparse Query
 * Attention (§9.1: fewer query heads, head dim of the baseline) and a Cross-Layer Attention consumer (§9.2: no K/V
 * projections; it attends to K/V produced by an earlier layer). The subclasses in variants.ts only map options.
 */
import { ArgumentError, Tensor } from '@tessera/core';
import { Module, type FactoryOptions, type Linear } from '@tessera/nn';
import { attentionFlopsPerToken, kvCacheElementsPerToken, type FlopCount } from './costs.js';
import { checkPositiveInts, checkSequence, makeLinear, mergeHeads, splitHeads, type LinearInit } from './heads.js';
import { KVCache, SlidingWindowKVCache, type AttentionCache, type CacheUpdate } from './kv-cache.js';
import { causalMask, combineMasks, paddingToKeyMask, positionMask } from './masks.js';
import { RotaryEmbedding, type RopeOptions, type RopePositions } from './rope.js';
import { attentionCore } from './sdpa.js';

export interface GroupedQueryAttentionOptions extends FactoryOptions {
  /** Model width d. */
  hiddenSize: number;
  /** Query heads H. */
  numHeads: number;
  /** Key/value heads H_kv (divides H; default H). */
  numKvHeads?: number;
  /** Head dim d_h (default d / H). */
  headDim?: number;
  /** Biases on q/k/v projections (default false, as in LLaMA). */
  bias?: boolean;
  /** Bias on o_proj (default: same as `bias`). */
  outputBias?: boolean;
  /** Causal self-attention (default true). */
  causal?: boolean;
  /** RoPE settings, or null for none (default: rotate-half, θ = 10000, full head dim). */
  rope?: RopeOptions | null;
  /** Sliding window W (keys including the query's own); null for full attention. */
  slidingWindow?: number | null;
  /** 'softmax' (default) or 'sigmoid' (no normalisation over keys; needs `sigmoidBias`). */
  scoreFunction?: 'softmax' | 'sigmoid';
  /** The scalar b added before σ (sigmoid attention; −ln n recommended). */
  sigmoidBias?: number;
  /** Dropout on the attention weights in training mode (default 0). */
  attentionDropout?: number;
  /** False for a CLA consumer layer: no k_proj/v_proj; it reads K/V shared by a producer layer (default true). */
  ownsKeyValues?: boolean;
  /** Linear initialisation (default { normal: 0.02 }, Hugging Face LLaMA). */
  init?: LinearInit;
}

/** Per-call options of the self-attention modules. */
export interface AttentionForwardOptions {
  /** This layer's cache: new keys/values are appended and the queries see everything cached (bottom-right causal). */
  cache?: AttentionCache | null;
  /**
   * RoPE positions of the new tokens: [L] or [B, L] (e.g. per-row positions with left padding). Defaults to the
   * absolute positions P…P+L−1.
   */
  positionIds?: Tensor | readonly number[] | null;
  /** Hugging Face-style [B, S] mask over every key seen (cached + new): 1/true = real token, 0/false = padding. */
  attentionMask?: Tensor | null;
  /** K/V produced by the first layer of this CLA block (consumer layers only). */
  sharedKV?: CacheUpdate | null;
}

/** Output and the keys/values this call attended to (what a CLA consumer of this layer reuses). */
export interface AttentionWithKV {
  output: Tensor;
  kv: CacheUpdate;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** Self-attention with grouped key/value heads (MHA / GQA / MQA) and the configurable variants above. */
export class GroupedQueryAttention extends Module {
  q_proj: Linear;
  k_proj: Linear | null;
  v_proj: Linear | null;
  o_proj: Linear;
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly slidingWindow: number | null;
  readonly scoreFunction: 'softmax' | 'sigmoid';
  readonly sigmoidBias: number;
  readonly attentionDropout: number;
  readonly rotary: RotaryEmbedding | null;
  readonly generator: FactoryOptions['generator'];

  constructor(opts: GroupedQueryAttentionOptions) {
    super();
    const name = this.constructor.name;
    const { hiddenSize, numHeads, numKvHeads = numHeads, bias = false, causal = true, init = { normal: 0.02 } } = opts;
    checkPositiveInts(name, { hiddenSize, numHeads, numKvHeads, headDim: opts.headDim });
    if (opts.headDim === undefined && hiddenSize % numHeads !== 0)
      throw new ArgumentError(`${name}: hiddenSize ${hiddenSize} is not divisible by numHeads ${numHeads}; pass headDim`);
    if (numHeads % numKvHeads !== 0) throw new ArgumentError(`${name}: numHeads ${numHeads} must be a multiple of numKvHeads ${numKvHeads}`);
    const headDim = opts.headDim ?? hiddenSize / numHeads;
    const window = opts.slidingWindow ?? null;
    if (window !== null) {
      checkPositiveInts(name, { slidingWindow: window });
      if (!causal) throw new ArgumentError(`${name}: a sliding window needs causal attention`);
    }
    const scoreFunction = opts.scoreFunction ?? 'softmax';
    if (scoreFunction !== 'softmax' && scoreFunction !== 'sigmoid')
      throw new ArgumentError(`${name}: scoreFunction must be 'softmax' or 'sigmoid', got '${scoreFunction}'`);
    if (scoreFunction === 'sigmoid' && !Number.isFinite(opts.sigmoidBias))
      throw new ArgumentError(`${name}: sigmoid attention needs a finite sigmoidBias (−ln n recommended), got ${opts.sigmoidBias}`);
    const p = opts.attentionDropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new ArgumentError(`${name}: attentionDropout must be within [0, 1), got ${p}`);

    this.hiddenSize = hiddenSize;
    this.numHeads = numHeads;
    this.numKvHeads = numKvHeads;
    this.headDim = headDim;
    this.causal = causal;
    this.slidingWindow = window;
    this.scoreFunction = scoreFunction;
    this.sigmoidBias = opts.sigmoidBias ?? 0;
    this.attentionDropout = p;
    this.generator = opts.generator;
    this.rotary = opts.rope === null ? null : new RotaryEmbedding(headDim, opts.rope ?? {});
    const own = opts.ownsKeyValues ?? true;
    this.q_proj = makeLinear(hiddenSize, numHeads * headDim, bias, init, opts);
    this.k_proj = own ? makeLinear(hiddenSize, numKvHeads * headDim, bias, init, opts) : null;
    this.v_proj = own ? makeLinear(hiddenSize, numKvHeads * headDim, bias, init, opts) : null;
    this.o_proj = makeLinear(numHeads * headDim, hiddenSize, opts.outputBias ?? bias, init, opts);
  }

  /** Whether this layer computes its own K/V (false for a CLA consumer). */
  get ownsKeyValues(): boolean {
    return this.k_proj !== null;
  }

  override forward(x: Tensor, opts: AttentionForwardOptions = {}): Tensor {
    return this.forwardWithKV(x, opts).output;
  }

  /** x [B, T, d] → output [B, T, d], plus the keys/values attended to (for CLA consumers). */
  forwardWithKV(x: Tensor, opts: AttentionForwardOptions = {}): AttentionWithKV {
    const name = this.constructor.name;
    checkSequence(name, 'input', x, this.hiddenSize);
    const T = x.shape[1]!;
    const q0 = splitHeads(this.q_proj.forward(x), this.numHeads, this.headDim);
    let kv: CacheUpdate;
    if (this.k_proj && this.v_proj) {
      if (opts.sharedKV) throw new ArgumentError(`${name}: this layer has its own K/V projections; sharedKV is for CLA consumer layers`);
      const P = opts.cache?.length ?? 0;
      let k = splitHeads(this.k_proj.forward(x), this.numKvHeads, this.headDim);
      const v = splitHeads(this.v_proj.forward(x), this.numKvHeads, this.headDim);
      if (this.rotary) k = this.rotary.apply(k, this.ropePositions(opts.positionIds, P));
      kv = opts.cache ? opts.cache.update(k, v) : { keys: k, values: v, keyPositions: range(0, T), queryPositions: range(0, T), contiguous: true };
    } else {
      if (!opts.sharedKV) throw new ArgumentError(`${name}: this CLA consumer layer has no K/V projections; pass sharedKV from its block's first layer`);
      if (opts.cache) throw new ArgumentError(`${name}: a CLA consumer layer keeps no cache; its producer's cache holds the block's K/V`);
      kv = opts.sharedKV;
      if (kv.queryPositions.length !== T)
        throw new ArgumentError(`${name}: sharedKV was computed for ${kv.queryPositions.length} tokens but the input has ${T}`);
    }
    const q = this.rotary ? this.rotary.apply(q0, this.ropePositions(opts.positionIds, kv.queryPositions[0] ?? 0)) : q0;
    const out = attentionCore(name, q, kv.keys, kv.values, {
      ...this.maskFor(kv, T, opts.attentionMask ?? null),
      enableGqa: true,
      scoreFunction: this.scoreFunction,
      scoreBias: this.sigmoidBias,
      dropoutP: this.training ? this.attentionDropout : 0,
      training: this.training,
      generator: this.generator,
    }).output;
    return { output: this.o_proj.forward(mergeHeads(out)), kv };
  }

  /** RoPE positions for [B, H, L, d] tensors: an offset, or given ids ([L] or [B, L] → [B, 1, L]). */
  private ropePositions(ids: AttentionForwardOptions['positionIds'], offset: number): RopePositions {
    if (ids == null) return offset;
    return ids instanceof Tensor && ids.ndim === 2 ? ids.unsqueeze(1) : ids;
  }

  /** The cheapest exact mask: isCausal flags when keys are in order, a position mask otherwise. */
  private maskFor(kv: CacheUpdate, L: number, attentionMask: Tensor | null) {
    const S = kv.keys.shape[2]!;
    const device = kv.keys.device;
    const pad = attentionMask ? paddingToKeyMask(attentionMask, S) : null;
    if (pad && !kv.contiguous)
      throw new ArgumentError(`${this.constructor.name}: attentionMask needs keys in position order; a rolling sliding-window cache reorders them`);
    if (kv.contiguous && this.slidingWindow === null) {
      if (!pad) return this.causal ? { isCausal: true, causalAlignment: L === S ? ('topLeft' as const) : ('bottomRight' as const) } : {};
      const causal = this.causal ? causalMask(L, S, { alignment: 'bottomRight', device }) : null;
      return { attnMask: combineMasks(causal, pad) };
    }
    const pos = positionMask(kv.queryPositions, kv.keyPositions, { causal: this.causal, window: this.slidingWindow, device });
    return { attnMask: combineMasks(pos, pad) };
  }

  /** A cache that fits this layer: a rolling buffer of W slots with a sliding window, a growing one otherwise. */
  createCache(opts: { capacity?: number } = {}): AttentionCache {
    if (!this.ownsKeyValues) throw new ArgumentError(`${this.constructor.name}: a CLA consumer layer has no cache of its own`);
    return this.slidingWindow !== null ? new SlidingWindowKVCache(this.slidingWindow) : new KVCache(opts);
  }

  /** KV-cache elements per token kept by this layer: 2·H_kv·d_h (0 for a CLA consumer; spec §10). */
  kvCacheElementsPerToken(): number {
    return this.ownsKeyValues ? kvCacheElementsPerToken(this) : 0;
  }

  /** Forward FLOPs per query token attending to S keys (spec §11; S is capped by the window). */
  flopsPerToken(S: number): FlopCount {
    const keys = this.slidingWindow === null ? S : Math.min(S, this.slidingWindow);
    return attentionFlopsPerToken(this, keys, { rotaryDim: this.rotary?.rotaryDim, ownsKeyValues: this.ownsKeyValues });
  }

  override extraRepr(): string {
    const parts = [`hiddenSize=${this.hiddenSize}`, `numHeads=${this.numHeads}`, `numKvHeads=${this.numKvHeads}`, `headDim=${this.headDim}`];
    if (!this.causal) parts.push('causal=false');
    if (this.slidingWindow !== null) parts.push(`slidingWindow=${this.slidingWindow}`);
    if (this.scoreFunction === 'sigmoid') parts.push(`scoreFunction=sigmoid, sigmoidBias=${this.sigmoidBias}`);
    if (!this.ownsKeyValues) parts.push('ownsKeyValues=false');
    return parts.join(', ');
  }
}
