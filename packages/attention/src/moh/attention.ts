/**
 * MoH — Mixture-of-Head attention (spec §6) on a LLaMA-style MHA/GQA host: Hugging Face projection names (q_proj,
 * k_proj, v_proj, o_proj) plus the released code's bias-free routers wg (W_r), wg_0 (W_h) and wg_1 (W_s). Each head
 * is an expert: Y_t = Σ_i g_{t,i} O_{t,i} W_O^{(i)} with the gates of routing.ts. K and V are computed and cached for
 * every head (a later token may route to any head), so the KV cache equals the host's.
 *
 * Training: the load-balance loss of the last training-mode forward is kept in `balanceLoss`; add
 * `β · mean over layers` of it to the task loss (see {@link mohAuxiliaryLoss}).
 *
 * Inference: a single-token decoding step in eval mode computes queries, attention and output projection only for
 * the h_s + K heads the token uses (the step where per-head attention over the cache dominates). Multi-token calls
 * run all heads densely — every head is selected by some token there, so skipping per token would only add gathers.
 */
import { arange, ArgumentError, cat, keep, noGrad, Tensor, zeros } from '@tessera/core';
import { Module, normal_, type FactoryOptions, type Linear } from '@tessera/nn';
import { checkPositiveInts, checkSequence, makeLinear, mergeHeads, splitHeads, type LinearInit } from '../heads.js';
import { KVCache, type AttentionCache } from '../kv-cache.js';
import { causalMask, combineMasks, paddingToKeyMask } from '../masks.js';
import { RotaryEmbedding, type RopeOptions, type RopePositions } from '../rope.js';
import { attentionCore } from '../sdpa.js';
import { mohHeadsFromRatio, mohRoute, mohRouterLayout, type MoHFormulation, type MoHRouting } from './routing.js';

/** Options of {@link MixtureOfHeadsAttention}: the host attention's dims plus the MoH head split. */
export interface MixtureOfHeadsAttentionOptions extends FactoryOptions {
  /** Model width d. */
  hiddenSize: number;
  /** Heads h (query heads). */
  numHeads: number;
  /** Key/value heads (GQA host; default h). */
  numKvHeads?: number;
  /** Head dim (default d / h). */
  headDim?: number;
  /** Shared (always active) heads h_s: the first h_s heads. */
  sharedHeads?: number;
  /** Routed heads chosen per token, K. */
  routedTopK?: number;
  /** Alternative to sharedHeads/routedTopK: fraction of heads active per token, (h_s + K)/h. */
  activationRatio?: number;
  /** With activationRatio: fraction of the active heads that are shared (default 0.5). */
  sharedFraction?: number;
  /** Gate formula (default 'released'). */
  formulation?: MoHFormulation;
  /** Biases on q/k/v projections (default false) and o_proj (default: same). */
  bias?: boolean;
  outputBias?: boolean;
  /** Causal self-attention (default true). */
  causal?: boolean;
  /** RoPE settings, or null for none (default rotate-half, θ = 10000). */
  rope?: RopeOptions | null;
  /** Initialisation of the attention Linears (default N(0, 0.02²)). */
  init?: LinearInit;
  /** Std of the normal router initialisation (default 0.02); 0 gives a uniform router (gates exactly 1). */
  routerStd?: number;
  /** Skip unselected heads in single-token eval decoding (default true). */
  sparseDecoding?: boolean;
}

/** Per-call options. */
export interface MoHForwardOptions {
  /** This layer's KV cache (all heads are cached). */
  cache?: AttentionCache | null;
  /** RoPE positions of the new tokens, [L] or [B, L] (default P…P+L−1). */
  positionIds?: Tensor | readonly number[] | null;
  /** Hugging Face-style [B, S] mask over all keys (cached + new): 1 = real token, 0 = padding. */
  attentionMask?: Tensor | null;
  /** Force the dense path (false) or allow the sparse one (true, default from the module). */
  sparse?: boolean;
}

/** Multi-head attention whose heads are gated per token by a router. */
export class MixtureOfHeadsAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  wg: Linear | null;
  wg_0: Linear | null;
  wg_1: Linear | null;
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly sharedHeads: number;
  readonly routedTopK: number;
  readonly formulation: MoHFormulation;
  readonly causal: boolean;
  readonly rotary: RotaryEmbedding | null;
  readonly sparseDecoding: boolean;
  /** Load-balance loss L_b of the last training-mode forward (null in eval mode or when K = 0). */
  balanceLoss: Tensor | null = null;
  /** Routing of the last forward (gates, active heads, probabilities, selections). */
  lastRouting: MoHRouting | null = null;
  private usageCounts: Tensor | null = null;
  private usageTokens = 0;

  constructor(opts: MixtureOfHeadsAttentionOptions) {
    super();
    const name = 'MixtureOfHeadsAttention';
    const { hiddenSize, numHeads, numKvHeads = numHeads, bias = false, init = { normal: 0.02 } } = opts;
    checkPositiveInts(name, { hiddenSize, numHeads, numKvHeads, headDim: opts.headDim });
    if (opts.headDim === undefined && hiddenSize % numHeads !== 0) throw new ArgumentError(`${name}: hiddenSize ${hiddenSize} is not divisible by numHeads ${numHeads}; pass headDim`);
    if (numHeads % numKvHeads !== 0) throw new ArgumentError(`${name}: numHeads ${numHeads} must be a multiple of numKvHeads ${numKvHeads}`);
    const counts =
      opts.activationRatio !== undefined
        ? mohHeadsFromRatio(numHeads, opts.activationRatio, opts.sharedFraction)
        : { numHeads, sharedHeads: opts.sharedHeads ?? Math.floor(numHeads / 2), routedTopK: opts.routedTopK ?? Math.ceil((numHeads - (opts.sharedHeads ?? Math.floor(numHeads / 2))) / 2) };
    const layout = mohRouterLayout(name, counts);
    this.hiddenSize = hiddenSize;
    this.numHeads = numHeads;
    this.numKvHeads = numKvHeads;
    this.headDim = opts.headDim ?? hiddenSize / numHeads;
    this.sharedHeads = counts.sharedHeads;
    this.routedTopK = counts.routedTopK;
    this.formulation = opts.formulation ?? 'released';
    this.causal = opts.causal ?? true;
    this.rotary = opts.rope === null ? null : new RotaryEmbedding(this.headDim, opts.rope ?? {});
    this.sparseDecoding = opts.sparseDecoding ?? true;
    const inner = numHeads * this.headDim;
    this.q_proj = makeLinear(hiddenSize, inner, bias, init, opts);
    this.k_proj = makeLinear(hiddenSize, numKvHeads * this.headDim, bias, init, opts);
    this.v_proj = makeLinear(hiddenSize, numKvHeads * this.headDim, bias, init, opts);
    this.o_proj = makeLinear(inner, hiddenSize, opts.outputBias ?? bias, init, opts);
    const std = opts.routerStd ?? 0.02;
    const router = (out: number) => makeLinear(hiddenSize, out, false, std > 0 ? { normal: std } : { normal: 0 }, opts);
    this.wg = layout.wg ? router(layout.routed) : null;
    this.wg_0 = layout.wg_0 ? router(2) : null;
    this.wg_1 = layout.wg_1 ? router(counts.sharedHeads) : null;
  }

  /** Routed heads h_r = h − h_s. */
  get routedHeads(): number {
    return this.numHeads - this.sharedHeads;
  }
  /** Fraction of heads active per token, (h_s + K)/h. */
  get activationRatio(): number {
    return (this.sharedHeads + this.routedTopK) / this.numHeads;
  }

  override forward(x: Tensor, opts: MoHForwardOptions = {}): Tensor {
    return this.forwardWithRouting(x, opts).output;
  }

  /** x [B, T, d] → output [B, T, d] and the routing of this call. Records balanceLoss in training mode. */
  forwardWithRouting(x: Tensor, opts: MoHForwardOptions = {}): { output: Tensor; routing: MoHRouting } {
    checkSequence('MixtureOfHeadsAttention', 'input', x, this.hiddenSize);
    const T = x.shape[1]!;
    const routing = mohRoute(
      x,
      { wg: this.wg?.weight ?? null, wg_0: this.wg_0?.weight ?? null, wg_1: this.wg_1?.weight ?? null },
      { numHeads: this.numHeads, sharedHeads: this.sharedHeads, routedTopK: this.routedTopK },
      { formulation: this.formulation, balanceLoss: this.training },
    );
    this.balanceLoss = routing.balanceLoss;
    this.lastRouting = routing;
    this.recordUsage(routing);

    const P = opts.cache?.length ?? 0;
    let k = splitHeads(this.k_proj.forward(x), this.numKvHeads, this.headDim);
    const v = splitHeads(this.v_proj.forward(x), this.numKvHeads, this.headDim);
    if (this.rotary) k = this.rotary.apply(k, this.ropePositions(opts.positionIds, P));
    const kv = opts.cache ? opts.cache.update(k, v) : { keys: k, values: v };
    const S = kv.keys.shape[2]!;
    const mask = this.maskOptions(T, S, opts.attentionMask ?? null, x.device);

    const sparse = (opts.sparse ?? this.sparseDecoding) && !this.training && T === 1 && this.routedTopK < this.routedHeads;
    const output = sparse ? this.sparseStep(x, routing, kv.keys, kv.values, mask, P, opts) : this.denseForward(x, routing, kv.keys, kv.values, mask, P, opts);
    return { output, routing };
  }

  private denseForward(x: Tensor, routing: MoHRouting, keys: Tensor, values: Tensor, mask: object, P: number, opts: MoHForwardOptions): Tensor {
    let q = splitHeads(this.q_proj.forward(x), this.numHeads, this.headDim);
    if (this.rotary) q = this.rotary.apply(q, this.ropePositions(opts.positionIds, P));
    const heads = attentionCore('MixtureOfHeadsAttention', q, keys, values, { ...mask, enableGqa: true }).output; // [B, h, T, d_h]
    const gated = heads.mul(routing.gates.transpose(1, 2).unsqueeze(-1));
    return this.o_proj.forward(mergeHeads(gated));
  }

  /** One token per sequence: only the active heads' query rows, attention and output columns are computed. */
  private sparseStep(x: Tensor, routing: MoHRouting, keys: Tensor, values: Tensor, mask: object, P: number, opts: MoHForwardOptions): Tensor {
    const [B, hs, K, dh, d] = [x.shape[0]!, this.sharedHeads, this.routedTopK, this.headDim, this.hiddenSize];
    const nActive = hs + K;
    const S = keys.shape[2]!;
    const heads = noGrad(() => {
      const routed = routing.selected!.reshape([B, K]).add(hs);
      return hs > 0 ? cat([arange(0, hs, 1, { device: x.device }).reshape([1, hs]).expand([B, hs]), routed], 1) : routed;
    }); // int32 [B, h_s + K]
    const flatHeads = heads.reshape([B * nActive]);
    // Query rows of the active heads: W_Q viewed [h, d_h, d].
    const wq = this.q_proj.weight.reshape([this.numHeads, dh, d]).indexSelect(0, flatHeads).reshape([B, nActive, dh, d]);
    let q = wq.matmul(x.reshape([B, 1, d, 1])).reshape([B, nActive, 1, dh]);
    if (this.q_proj.bias) q = q.add(this.q_proj.bias.reshape([this.numHeads, dh]).indexSelect(0, flatHeads).reshape([B, nActive, 1, dh]));
    if (this.rotary) q = this.rotary.apply(q, this.ropePositions(opts.positionIds, P));
    // Each active head reads its GQA key/value head ⌊h/g⌋.
    const g = this.numHeads / this.numKvHeads;
    const kvHeads = noGrad(() => (g === 1 ? heads : heads.div(g).floor().to('int32')));
    const index = kvHeads.reshape([B, nActive, 1, 1]);
    const k = keys.gather(1, index.expand([B, nActive, S, dh]));
    const v = values.gather(1, index.expand([B, nActive, S, values.shape[3]!]));
    const out = attentionCore('MixtureOfHeadsAttention', q, k, v, mask).output; // [B, nActive, 1, d_h]
    const gates = routing.gates.reshape([B, this.numHeads]).gather(1, heads).reshape([B, nActive, 1, 1]);
    // Output columns of the active heads: W_O viewed [d, h, d_h] → [h, d_h, d].
    const wo = this.o_proj.weight.reshape([d, this.numHeads, dh]).permute([1, 2, 0]).indexSelect(0, flatHeads).reshape([B, nActive, dh, d]);
    let y = out.mul(gates).matmul(wo).sum(1); // [B, 1, d]
    if (this.o_proj.bias) y = y.add(this.o_proj.bias);
    return y;
  }

  private ropePositions(ids: MoHForwardOptions['positionIds'], offset: number): RopePositions {
    if (ids == null) return offset;
    return ids instanceof Tensor && ids.ndim === 2 ? ids.unsqueeze(1) : ids;
  }

  private maskOptions(L: number, S: number, attentionMask: Tensor | null, device: string): object {
    const pad = attentionMask ? paddingToKeyMask(attentionMask, S) : null;
    if (!pad) return this.causal ? { isCausal: true, causalAlignment: L === S ? 'topLeft' : 'bottomRight' } : {};
    return { attnMask: combineMasks(this.causal ? causalMask(L, S, { alignment: 'bottomRight', device }) : null, pad) };
  }

  private recordUsage(routing: MoHRouting): void {
    noGrad(() => {
      const counts = routing.active.to(routing.gates.dtype).reshape([-1, this.numHeads]).sum(0);
      const prev = this.usageCounts;
      // Kept out of any enclosing scope(): the statistics outlive the step that produced them.
      this.usageCounts = keep(prev ? prev.add(counts) : counts);
      prev?.dispose();
    });
    this.usageTokens += routing.active.shape[0]! * routing.active.shape[1]!;
  }

  /**
   * Head-usage statistics since the last reset: the fraction of tokens that activated each head ([h]; shared heads
   * 1, routed heads average K/h_r), and the number of tokens counted.
   */
  headUsage(): { fractions: Tensor; tokens: number } {
    const fractions = this.usageCounts ? this.usageCounts.div(this.usageTokens) : zeros([this.numHeads], { dtype: this.q_proj.weight.dtype });
    return { fractions, tokens: this.usageTokens };
  }
  /** Clears the head-usage statistics. */
  resetHeadUsage(): void {
    this.usageCounts?.dispose();
    this.usageCounts = null;
    this.usageTokens = 0;
  }

  /** A KV cache for this layer: keys and values of every head (2·H_kv·d_h per token, as the host). */
  createCache(opts: { capacity?: number } = {}): AttentionCache {
    return new KVCache(opts);
  }
  kvCacheElementsPerToken(): number {
    return 2 * this.numKvHeads * this.headDim;
  }

  /** Forward FLOPs per token with S keys: dense (as released) or sparse (only active heads' Q, attention, O). */
  flopsPerToken(S: number, mode: 'dense' | 'sparse' = 'dense'): number {
    const [d, dh, hkv] = [this.hiddenSize, this.headDim, this.numKvHeads];
    const router = 2 * d * (this.routedHeads + this.sharedHeads + 2);
    const h = mode === 'dense' ? this.numHeads : this.sharedHeads + this.routedTopK;
    return 4 * d * h * dh + 4 * d * hkv * dh + 4 * h * dh * S + router;
  }

  override extraRepr(): string {
    return `hiddenSize=${this.hiddenSize}, numHeads=${this.numHeads}, numKvHeads=${this.numKvHeads}, headDim=${this.headDim}, sharedHeads=${this.sharedHeads}, routedTopK=${this.routedTopK}, formulation=${this.formulation}`;
  }
}

/** Re-draws the routers with N(0, std²) (std 0 zeroes them: a uniform router). */
export function resetRouters(m: MixtureOfHeadsAttention, std: number, opts: FactoryOptions = {}): void {
  for (const r of [m.wg, m.wg_0, m.wg_1]) if (r) normal_(r.weight, 0, std, { generator: opts.generator });
}

/**
 * The auxiliary loss to add to the task loss: β · mean over the MoH layers of `model` that recorded a balance loss
 * in their last (training-mode) forward (β = 0.01 in the released code). Null if none did. With `clear`, the recorded
 * losses are reset so the next step starts fresh.
 */
export function mohAuxiliaryLoss(model: Module, opts: { coefficient?: number; clear?: boolean } = {}): Tensor | null {
  const losses: Tensor[] = [];
  for (const m of model.modules())
    if (m instanceof MixtureOfHeadsAttention && m.balanceLoss) {
      losses.push(m.balanceLoss);
      if (opts.clear) m.balanceLoss = null;
    }
  if (losses.length === 0) return null;
  return losses.reduce((a, b) => a.add(b)).mul((opts.coefficient ?? 0.01) / losses.length);
}
