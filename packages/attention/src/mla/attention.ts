/**
 * Multi-head Latent Attention (DeepSeek-V2/V3; spec §7) with Hugging Face's parameter names and layouts:
 *
 *   q_proj                       [H·(d_n+d_r), d]          (when q_lora_rank is null/0)
 *   q_a_proj, q_a_layernorm, q_b_proj   [d_c', d], RMSNorm(d_c'), [H·(d_n+d_r), d_c']
 *   kv_a_proj_with_mqa           [d_c + d_r, d]            → c^KV (normalised by kv_a_layernorm) and the shared k^R
 *   kv_a_layernorm               RMSNorm(d_c)              (on the latent only, never on k^R)
 *   kv_b_proj                    [H·(d_n+d_v), d_c]        per head: d_n rows of W_UK, then d_v rows of W_UV
 *   o_proj                       [d, H·d_v]
 *
 * Two exact paths: the naive one (up-project the cached latents to per-head K and V, then SDPA with E = d_n+d_r and
 * E_v = d_v) and the absorbed one (fold W_UK into the query, attend over [c^KV ; k^R] as a single shared key head and
 * apply W_UV after the weighted sum). Both use the softmax scale (d_n+d_r)^{-1/2}·mscale². Either way the cache holds
 * only c^KV and the rotated k^R: d_c + d_r elements per token.
 */
import { ArgumentError, cat, tensor, Tensor } from '@tessera/core';
import { Module, RMSNorm, type FactoryOptions, type Linear } from '@tessera/nn';
import { checkPositiveInts, checkSequence, makeLinear, mergeHeads, splitHeads, type LinearInit } from '../heads.js';
import { causalMask, combineMasks, paddingToKeyMask } from '../masks.js';
import type { RopeConvention } from '../rope.js';
import { attentionCore } from '../sdpa.js';
import { MLACache } from './cache.js';
import { rotateWithFrequencies, yarnAttentionFactor, yarnInverseFrequencies, yarnSoftmaxFactor, type YarnScaling } from './yarn.js';

/** The dimensions that define an MLA layer (DeepSeek config names in camelCase). */
export interface MLAShape {
  /** Model width d. */
  hiddenSize: number;
  /** Heads H. */
  numHeads: number;
  /** Query latent rank d_c'; null or 0 = no query compression (a single q_proj). */
  qLoraRank?: number | null;
  /** KV latent rank d_c. */
  kvLoraRank: number;
  /** Non-rotary query/key dims per head d_n. */
  qkNopeHeadDim: number;
  /** Rotary query/key dims d_r (one rotary key shared by all heads). */
  qkRopeHeadDim: number;
  /** Value dims per head d_v. */
  vHeadDim: number;
}

/** Options of {@link MultiHeadLatentAttention}: the shape plus RoPE/YaRN, norms, biases and the attention path. */
export interface MultiHeadLatentAttentionOptions extends MLAShape, FactoryOptions {
  /** RoPE base (default 10000). */
  ropeTheta?: number;
  /** DeepSeek's interleaved pairs (2i, 2i+1) (default true) or rotate-half. */
  ropeInterleave?: boolean;
  /** YaRN long-context scaling of the rotary channels and the softmax scale (default none). */
  ropeScaling?: YarnScaling | null;
  /** Epsilon of both RMSNorms (default 1e-6). */
  rmsNormEps?: number;
  /** Biases on q_a_proj / q_proj, kv_a_proj_with_mqa and o_proj (default false). */
  attentionBias?: boolean;
  /** Overrides the softmax scale (default (d_n+d_r)^{-1/2}·mscale²). */
  softmaxScale?: number;
  /** Causal self-attention (default true). */
  causal?: boolean;
  /** Which path computes attention: 'naive', 'absorbed', or 'auto' (absorbed when decoding with a cache; default). */
  attnImpl?: MLAImpl;
  /** Linear initialisation (default N(0, 0.02²) as Hugging Face's DeepSeek port). */
  init?: LinearInit;
}

/** The attention path. */
export type MLAImpl = 'naive' | 'absorbed' | 'auto';

/** Per-call options. */
export interface MLAForwardOptions {
  /** Compressed cache of this layer: new latents/rope keys are appended, queries see all (bottom-right causal). */
  cache?: MLACache | null;
  /** RoPE positions of the new tokens, [L] or [B, L] (default P…P+L−1). */
  positionIds?: Tensor | readonly number[] | null;
  /** Hugging Face-style [B, S] mask over all keys (cached + new): 1 = real token, 0 = padding. */
  attentionMask?: Tensor | null;
  /** Overrides the module's attnImpl for this call. */
  impl?: MLAImpl;
}

/** DeepSeek-V2 (236B) attention dims (spec §7.1). */
export const DEEPSEEK_V2_MLA: MLAShape = { hiddenSize: 5120, numHeads: 128, qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 };
/** DeepSeek-V2-Lite (16B) attention dims: no query compression. */
export const DEEPSEEK_V2_LITE_MLA: MLAShape = { hiddenSize: 2048, numHeads: 16, qLoraRank: null, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 };
/** DeepSeek-V3 (671B) attention dims. */
export const DEEPSEEK_V3_MLA: MLAShape = { hiddenSize: 7168, numHeads: 128, qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 };

/** Elements cached per token per layer by the absorbed path: d_c + d_r (576 for V2/V3). */
export function mlaCacheElementsPerToken(shape: MLAShape): number {
  return shape.kvLoraRank + shape.qkRopeHeadDim;
}
/** Elements per token a naive per-head K/V cache would hold: H·(d_n + d_r) + H·d_v (40960 for V2). */
export function mlaNaiveCacheElementsPerToken(shape: MLAShape): number {
  return shape.numHeads * (shape.qkNopeHeadDim + shape.qkRopeHeadDim + shape.vHeadDim);
}

/**
 * Forward FLOPs per token attending to S keys (spec §7.7 / §11): projections and the attention term, for the naive
 * (training / prefill) or the absorbed (decoding) path.
 */
export function mlaFlopsPerToken(shape: MLAShape, S: number, impl: 'naive' | 'absorbed'): { projections: number; attention: number; total: number } {
  const { hiddenSize: d, numHeads: H, kvLoraRank: dc, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv } = shape;
  const qr = shape.qLoraRank ?? 0;
  const query = qr > 0 ? 2 * d * qr + 2 * qr * H * (dn + dr) : 2 * d * H * (dn + dr);
  const down = 2 * d * (dc + dr);
  const out = 2 * H * dv * d;
  const projections = impl === 'naive' ? query + down + 2 * dc * H * (dn + dv) + out : query + down + 2 * H * dn * dc + 2 * H * dc * dv + out;
  const attention = impl === 'naive' ? (2 * H * (dn + dr) + 2 * H * dv) * S : (2 * H * (dc + dr) + 2 * H * dc) * S;
  return { projections, attention, total: projections + attention };
}

/** DeepSeek's Multi-head Latent Attention. */
export class MultiHeadLatentAttention extends Module {
  q_proj: Linear | null = null;
  q_a_proj: Linear | null = null;
  q_a_layernorm: RMSNorm | null = null;
  q_b_proj: Linear | null = null;
  kv_a_proj_with_mqa: Linear;
  kv_a_layernorm: RMSNorm;
  kv_b_proj: Linear;
  o_proj: Linear;
  readonly shape: Required<MLAShape>;
  readonly softmaxScale: number;
  readonly causal: boolean;
  readonly attnImpl: MLAImpl;
  readonly ropeConvention: RopeConvention;
  readonly ropeInverseFrequencies: readonly number[];
  readonly ropeFactor: number;

  constructor(opts: MultiHeadLatentAttentionOptions) {
    super();
    const { hiddenSize: d, numHeads: H, kvLoraRank: dc, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv } = opts;
    checkPositiveInts('MultiHeadLatentAttention', { hiddenSize: d, numHeads: H, kvLoraRank: dc, vHeadDim: dv });
    for (const [name, v] of Object.entries({ qkNopeHeadDim: dn, qkRopeHeadDim: dr }))
      if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`MultiHeadLatentAttention: ${name} must be a non-negative integer, got ${v}`);
    if (dr % 2 !== 0) throw new ArgumentError(`MultiHeadLatentAttention: qkRopeHeadDim must be even (RoPE rotates pairs), got ${dr}`);
    if (dn + dr === 0) throw new ArgumentError('MultiHeadLatentAttention: qkNopeHeadDim + qkRopeHeadDim must be positive');
    const qr = opts.qLoraRank ?? 0;
    if (!Number.isInteger(qr) || qr < 0) throw new ArgumentError(`MultiHeadLatentAttention: qLoraRank must be null or a non-negative integer, got ${qr}`);
    const impl = opts.attnImpl ?? 'auto';
    if (!['naive', 'absorbed', 'auto'].includes(impl)) throw new ArgumentError(`MultiHeadLatentAttention: attnImpl must be 'naive', 'absorbed' or 'auto', got '${impl}'`);
    this.shape = { hiddenSize: d, numHeads: H, qLoraRank: qr, kvLoraRank: dc, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv };
    this.causal = opts.causal ?? true;
    this.attnImpl = impl;
    this.ropeConvention = (opts.ropeInterleave ?? true) ? 'interleaved' : 'half';
    this.ropeInverseFrequencies = dr > 0 ? yarnInverseFrequencies(dr, opts.ropeTheta ?? 10000, opts.ropeScaling) : [];
    this.ropeFactor = yarnAttentionFactor(opts.ropeScaling);
    this.softmaxScale = opts.softmaxScale ?? (dn + dr) ** -0.5 * yarnSoftmaxFactor(opts.ropeScaling);
    const init = opts.init ?? { normal: 0.02 };
    const bias = opts.attentionBias ?? false;
    const eps = opts.rmsNormEps ?? 1e-6;
    const p = { dtype: opts.dtype, device: opts.device };
    if (qr > 0) {
      this.q_a_proj = makeLinear(d, qr, bias, init, opts);
      this.q_a_layernorm = new RMSNorm(qr, { ...p, eps });
      this.q_b_proj = makeLinear(qr, H * (dn + dr), false, init, opts);
    } else this.q_proj = makeLinear(d, H * (dn + dr), false, init, opts);
    this.kv_a_proj_with_mqa = makeLinear(d, dc + dr, bias, init, opts);
    this.kv_a_layernorm = new RMSNorm(dc, { ...p, eps });
    this.kv_b_proj = makeLinear(dc, H * (dn + dv), false, init, opts);
    this.o_proj = makeLinear(H * dv, d, bias, init, opts);
  }

  /** A compressed cache for this layer (d_c + d_r elements per token). */
  createCache(opts: { capacity?: number } = {}): MLACache {
    return new MLACache(this.shape.kvLoraRank, this.shape.qkRopeHeadDim, opts.capacity);
  }

  /** Cached elements per token per layer: d_c + d_r. */
  kvCacheElementsPerToken(): number {
    return mlaCacheElementsPerToken(this.shape);
  }

  /** x [B, T, d] → [B, T, d]. */
  override forward(x: Tensor, opts: MLAForwardOptions = {}): Tensor {
    checkSequence('MultiHeadLatentAttention', 'input', x, this.shape.hiddenSize);
    const { numHeads: H, kvLoraRank: dc, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv } = this.shape;
    const [B, T] = [x.shape[0]!, x.shape[1]!];
    const P = opts.cache?.length ?? 0;
    const positions = this.positions(opts.positionIds, P, x.device);

    // Queries: [B, H, T, d_n + d_r] split into the content part and the rotary part.
    const qFull = this.q_proj ? this.q_proj.forward(x) : this.q_b_proj!.forward(this.q_a_layernorm!.forward(this.q_a_proj!.forward(x)));
    const q = splitHeads(qFull, H, dn + dr);
    const qNope = q.narrow(-1, 0, dn);
    const qPe = this.rope(q.narrow(-1, dn, dr), positions.heads);

    // Keys: the normalised latent and the one rotary key shared by all heads — exactly what is cached.
    const kvA = this.kv_a_proj_with_mqa.forward(x);
    const latent = this.kv_a_layernorm.forward(kvA.narrow(-1, 0, dc));
    const kPe = this.rope(kvA.narrow(-1, dc, dr), positions.tokens);
    const rows = cat([latent, kPe], -1);
    const combined = opts.cache ? opts.cache.update(rows).combined : rows; // [B, S, d_c + d_r]
    const S = combined.shape[1]!;
    const maskOpts = this.maskOptions(T, S, opts.attentionMask ?? null, x.device);

    const impl = opts.impl ?? this.attnImpl;
    const absorbed = impl === 'absorbed' || (impl === 'auto' && !!opts.cache && P > 0);
    let out: Tensor;
    if (absorbed) {
      // Fold W_UK into the query; attend over [c ; k^R] as one key head; apply W_UV after the weighted sum.
      const w = this.kv_b_proj.weight.reshape([H, dn + dv, dc]);
      const [wUK, wUV] = [w.narrow(1, 0, dn), w.narrow(1, dn, dv)];
      const qAbs = cat([qNope.matmul(wUK), qPe], -1); // [B, H, T, d_c + d_r]
      const keys = combined.unsqueeze(1); // [B, 1, S, d_c + d_r]
      const latentSum = attentionCore('MultiHeadLatentAttention', qAbs, keys, keys.narrow(-1, 0, dc), { ...maskOpts, scale: this.softmaxScale, enableGqa: true }).output;
      out = latentSum.matmul(wUV.mT); // [B, H, T, d_v]
    } else {
      const kv = splitHeads(this.kv_b_proj.forward(combined.narrow(-1, 0, dc)), H, dn + dv); // [B, H, S, d_n + d_v]
      const kRope = combined.narrow(-1, dc, dr).unsqueeze(1).expand([B, H, S, dr]);
      const k = cat([kv.narrow(-1, 0, dn), kRope], -1);
      out = attentionCore('MultiHeadLatentAttention', cat([qNope, qPe], -1), k, kv.narrow(-1, dn, dv), { ...maskOpts, scale: this.softmaxScale }).output;
    }
    return this.o_proj.forward(mergeHeads(out));
  }

  private rope(x: Tensor, positions: number | Tensor): Tensor {
    if (this.shape.qkRopeHeadDim === 0) return x;
    return rotateWithFrequencies(x, positions, this.ropeInverseFrequencies, this.ropeConvention, this.ropeFactor);
  }

  /** Positions for [B, H, T, ·] (heads) and [B, T, ·] (tokens) tensors. */
  private positions(ids: MLAForwardOptions['positionIds'], offset: number, device: string): { heads: number | Tensor; tokens: number | Tensor } {
    if (ids == null) return { heads: offset, tokens: offset };
    const t = ids instanceof Tensor ? ids : tensor(Int32Array.from(ids), { device });
    return t.ndim === 2 ? { heads: t.unsqueeze(1), tokens: t } : { heads: t, tokens: t };
  }

  private maskOptions(L: number, S: number, attentionMask: Tensor | null, device: string) {
    const pad = attentionMask ? paddingToKeyMask(attentionMask, S) : null;
    if (!pad) return this.causal ? { isCausal: true, causalAlignment: L === S ? ('topLeft' as const) : ('bottomRight' as const) } : {};
    return { attnMask: combineMasks(this.causal ? causalMask(L, S, { alignment: 'bottomRight', device }) : null, pad) };
  }

  override extraRepr(): string {
    const s = this.shape;
    return (
      `hiddenSize=${s.hiddenSize}, numHeads=${s.numHeads}, qLoraRank=${s.qLoraRank || null}, kvLoraRank=${s.kvLoraRank}, ` +
      `qkNopeHeadDim=${s.qkNopeHeadDim}, qkRopeHeadDim=${s.qkRopeHeadDim}, vHeadDim=${s.vHeadDim}, attnImpl=${this.attnImpl}`
    );
  }
}
