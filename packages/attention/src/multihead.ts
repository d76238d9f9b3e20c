/**
 * torch.nn.MultiheadAttention (spec §3), with its parameter names and layouts, initialisation and forward
 * semantics: sequence-first tensors by default, a packed in_proj_weight [3E, E] when kdim = vdim = E and separate
 * q/k/v_proj_weight otherwise, masks whose bool `true` means *blocked*, optional bias_k/bias_v and add_zero_attn
 * columns appended at the end, and attention weights averaged over heads or per head.
 */
import { ArgumentError, cat, DTypeError, fmtShape, full, isFloat, ShapeError, Tensor, zeros, type Generator } from '@tessera/core';
import { constant_, linear, Linear, Module, Parameter, xavierNormal_, xavierUniform_, type FactoryOptions } from '@tessera/nn';
import { checkPositiveInts, mergeHeads, splitHeads } from './heads.js';
import { combineMasks, fromBlockedPolarity } from './masks.js';
import { attentionCore } from './sdpa.js';

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights in training mode (default 0). */
  dropout?: number;
  /** Input and output projection biases (default true). */
  bias?: boolean;
  /** Append learned bias_k / bias_v as one extra key/value position (default false). */
  addBiasKv?: boolean;
  /** Append an all-zero key/value position after projection (default false). */
  addZeroAttn?: boolean;
  /** Key input width (default embedDim). */
  kdim?: number;
  /** Value input width (default embedDim). */
  vdim?: number;
  /** Inputs and outputs are [N, L, E] instead of the default [L, N, E] (default false). */
  batchFirst?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /** [N, S] (or [S] unbatched): bool true = padding (blocked), or float (added). */
  keyPaddingMask?: Tensor | null;
  /** Return attention weights (default true). */
  needWeights?: boolean;
  /** [L, S] or [N·H, L, S]: bool true = blocked, or float (added). */
  attnMask?: Tensor | null;
  /** Average the weights over heads → [N, L, S] (default true); otherwise [N, H, L, S]. */
  averageAttnWeights?: boolean;
  /** Hint that attnMask is causal (PyTorch 2 semantics: it needs attnMask and creates no mask itself). */
  isCausal?: boolean;
}

/** Multi-head attention with PyTorch's nn.MultiheadAttention parameters and semantics. */
export class MultiheadAttention extends Module {
  in_proj_weight: Tensor | null = null;
  q_proj_weight: Tensor | null = null;
  k_proj_weight: Tensor | null = null;
  v_proj_weight: Tensor | null = null;
  in_proj_bias: Tensor | null = null;
  out_proj: Linear;
  bias_k: Tensor | null = null;
  bias_v: Tensor | null = null;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;
  readonly generator: Generator | undefined;

  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    const { bias = true, kdim = embedDim, vdim = embedDim, dropout = 0 } = opts;
    checkPositiveInts('MultiheadAttention', { embedDim, numHeads, kdim, vdim });
    if (embedDim % numHeads !== 0) throw new ArgumentError(`MultiheadAttention: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    if (!(dropout >= 0 && dropout < 1)) throw new ArgumentError(`MultiheadAttention: dropout must be within [0, 1), got ${dropout}`);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = kdim;
    this.vdim = vdim;
    this.dropout = dropout;
    this.batchFirst = opts.batchFirst ?? false;
    this.addZeroAttn = opts.addZeroAttn ?? false;
    this.generator = opts.generator;
    const E = embedDim;
    const p = { dtype: opts.dtype, device: opts.device };
    const init = { generator: opts.generator };
    // Registration order (and so stateDict order) follows PyTorch's __init__.
    if (kdim === E && vdim === E) this.in_proj_weight = Parameter(xavierUniform_(zeros([3 * E, E], p), 1, init));
    else {
      this.q_proj_weight = Parameter(xavierUniform_(zeros([E, E], p), 1, init));
      this.k_proj_weight = Parameter(xavierUniform_(zeros([E, kdim], p), 1, init));
      this.v_proj_weight = Parameter(xavierUniform_(zeros([E, vdim], p), 1, init));
    }
    if (bias) this.in_proj_bias = Parameter(zeros([3 * E], p));
    this.out_proj = new Linear(E, E, { ...opts, bias });
    if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
    if (opts.addBiasKv) {
      this.bias_k = Parameter(xavierNormal_(zeros([1, 1, E], p), 1, init));
      this.bias_v = Parameter(xavierNormal_(zeros([1, 1, E], p), 1, init));
    }
  }

  /** Projection weights [E, in] and biases for q, k, v (slices of the packed parameters when packed). */
  private projections(): { w: Tensor[]; b: (Tensor | null)[] } {
    const E = this.embedDim;
    const w = this.in_proj_weight ? [0, 1, 2].map((i) => this.in_proj_weight!.narrow(0, i * E, E)) : [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!];
    const b = [0, 1, 2].map((i) => this.in_proj_bias?.narrow(0, i * E, E) ?? null);
    return { w, b };
  }

  /**
   * query [L, N, E], key [S, N, kdim], value [S, N, vdim] ([N, ·, ·] with batchFirst; 2-D unbatched) →
   * [output [L, N, E], weights [N, L, S] | [N, H, L, S] | null].
   */
  override forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const { needWeights = true, averageAttnWeights = true } = opts;
    const batched = query.ndim === 3;
    if ((query.ndim !== 2 && query.ndim !== 3) || key.ndim !== query.ndim || value.ndim !== query.ndim)
      throw new ShapeError(`MultiheadAttention: query, key and value must all be 3-D (batched) or 2-D (unbatched), got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
    if (opts.isCausal && !opts.attnMask) throw new ArgumentError('MultiheadAttention: isCausal is only a hint about attnMask; pass the causal attnMask too');
    // Internally batch-first: [N, L, E].
    const toNLE = (t: Tensor) => (!batched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
    const [q, k, v] = [toNLE(query), toNLE(key), toNLE(value)];
    const [N, L, S] = [q.shape[0]!, q.shape[1]!, k.shape[1]!];
    const layout = this.batchFirst ? '[N, L, E]' : '[L, N, E]';
    if (q.shape[2] !== this.embedDim || k.shape[2] !== this.kdim || v.shape[2] !== this.vdim)
      throw new ShapeError(`MultiheadAttention: expected query/key/value widths ${this.embedDim}/${this.kdim}/${this.vdim} (layout ${layout}), got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
    if (k.shape[0] !== N || v.shape[0] !== N || v.shape[1] !== S)
      throw new ShapeError(`MultiheadAttention: key and value must have the query's batch and the same length (layout ${layout}), got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
    for (const [n, t] of [['query', q], ['key', k], ['value', v]] as const)
      if (!isFloat(t.dtype)) throw new DTypeError(`MultiheadAttention: ${n} must be floating-point, got ${t.dtype}`);

    const { w, b } = this.projections();
    let Q = linear(q, w[0]!, b[0]);
    let K = linear(k, w[1]!, b[1]);
    let V = linear(v, w[2]!, b[2]);
    let attnMask = this.attnMaskFor(opts.attnMask ?? null, N, L, S, batched);
    let padMask = this.paddingMaskFor(opts.keyPaddingMask ?? null, N, S, batched);
    const extraKey = () => {
      attnMask = attnMask && padKeyColumn(attnMask);
      padMask = padMask && padKeyColumn(padMask);
    };
    if (this.bias_k && this.bias_v) {
      K = cat([K, this.bias_k.expand([N, 1, this.embedDim])], 1);
      V = cat([V, this.bias_v.expand([N, 1, this.embedDim])], 1);
      extraKey();
    }
    let [Qh, Kh, Vh] = [Q, K, V].map((t) => splitHeads(t, this.numHeads, this.headDim)) as [Tensor, Tensor, Tensor];
    if (this.addZeroAttn) {
      const z = zeros([N, this.numHeads, 1, this.headDim], { dtype: Kh.dtype, device: Kh.device });
      Kh = cat([Kh, z], 2);
      Vh = cat([Vh, z], 2);
      extraKey();
    }
    const res = attentionCore('MultiheadAttention', Qh, Kh, Vh, {
      attnMask: combineMasks(attnMask, padMask),
      dropoutP: this.training ? this.dropout : 0,
      training: this.training,
      generator: this.generator,
      needWeights,
    });
    const out = this.out_proj.forward(mergeHeads(res.output));
    let weights = res.weights && (averageAttnWeights ? res.weights.mean(1) : res.weights);
    if (!batched) weights = weights && weights.squeeze(0);
    const output = !batched ? out.squeeze(0) : this.batchFirst ? out : out.transpose(0, 1);
    return [output, weights];
  }

  /** attnMask [L, S] or [N·H, L, S] (true = blocked) → internal polarity, broadcastable to [N, H, L, S]. */
  private attnMaskFor(mask: Tensor | null, N: number, L: number, S: number, batched: boolean): Tensor | null {
    if (!mask) return null;
    const ok2 = mask.ndim === 2 && mask.shape[0] === L && mask.shape[1] === S;
    const ok3 = mask.ndim === 3 && mask.shape[0] === N * this.numHeads && mask.shape[1] === L && mask.shape[2] === S;
    if (!ok2 && !ok3)
      throw new ShapeError(`MultiheadAttention: attnMask must be [L, S] = [${L}, ${S}] or [N·H, L, S] = [${N * this.numHeads}, ${L}, ${S}], got ${fmtShape(mask.shape)}${batched ? '' : ' (unbatched input)'}`);
    const m = fromBlockedPolarity(mask);
    return ok3 ? m.reshape([N, this.numHeads, L, S]) : m;
  }

  /** keyPaddingMask [N, S] (true = padding) → internal polarity [N, 1, 1, S]. */
  private paddingMaskFor(mask: Tensor | null, N: number, S: number, batched: boolean): Tensor | null {
    if (!mask) return null;
    const m = batched ? mask : mask.unsqueeze(0);
    if (m.ndim !== 2 || m.shape[0] !== N || m.shape[1] !== S)
      throw new ShapeError(`MultiheadAttention: keyPaddingMask must be ${batched ? `[N, S] = [${N}, ${S}]` : `[S] = [${S}]`}, got ${fmtShape(mask.shape)}`);
    return fromBlockedPolarity(m).reshape([N, 1, 1, S]);
  }

  override extraRepr(): string {
    const parts = [`embedDim=${this.embedDim}`, `numHeads=${this.numHeads}`];
    if (this.kdim !== this.embedDim || this.vdim !== this.embedDim) parts.push(`kdim=${this.kdim}`, `vdim=${this.vdim}`);
    if (this.batchFirst) parts.push('batchFirst=true');
    if (this.dropout) parts.push(`dropout=${this.dropout}`);
    return parts.join(', ');
  }
}

/** Appends one "may attend" key column to a mask in the internal polarity. */
function padKeyColumn(mask: Tensor): Tensor {
  const shape = [...mask.shape.slice(0, -1), 1];
  const col = mask.dtype === 'bool' ? full(shape, true, { device: mask.device }) : zeros(shape, { dtype: mask.dtype, device: mask.device });
  return cat([mask, col], -1);
}
