/**
 * The TransNormerLLM attention block around Lightning Attention (spec §9.4; parameter names of the released
 * `TnlAttention` example): q, k, v = SiLU(x W_{q,k,v}); o = Lightning(q, k, v) with fixed ALiBi-style decay slopes;
 * o ← LayerNorm(o) ⊙ σ(x W_g1 W_g2) (low-rank output gate d → d_h → d); y = o W_O.
 *
 * Its decoding state is constant in the sequence length: one d_k × d_v matrix per head (spec §10).
 */
import { ArgumentError, Tensor } from '@tessera/core';
import { LayerNorm, Linear, Module, Sequential, type FactoryOptions } from '@tessera/nn';
import { checkPositiveInts, checkSequence, makeLinear, mergeHeads, splitHeads, type LinearInit } from '../heads.js';
import { lightningSlopes, linearAttention, type LinearAttentionForm } from './functional.js';

/** Options of {@link LightningAttention}. */
export interface LightningAttentionOptions extends FactoryOptions {
  /** Model width d. */
  hiddenSize: number;
  /** Heads H (d_h = d / H unless headDim is given). */
  numHeads: number;
  /** Per-head width of q, k, v (default d / H). */
  headDim?: number;
  /** Biases on every Linear (default false). */
  bias?: boolean;
  /** Layer index and count for TransNormerLLM's per-layer slope scaling (default 0 of 12, as the example). */
  layerIndex?: number;
  numLayers?: number;
  /** Explicit per-head slopes s_h (λ_h = exp(−s_h)); overrides the ALiBi schedule. All zeros = no decay. */
  slopes?: readonly number[];
  /** Which form computes the full-sequence pass (default 'chunked'); decoding always uses the recurrence. */
  form?: LinearAttentionForm;
  /** Block length of the chunked form (default 64). */
  blockSize?: number;
  /** Linear initialisation (default: PyTorch's Linear default, as the example). */
  init?: LinearInit;
}

/** Per-call options: the state carried from earlier tokens. */
export interface LightningForwardOptions {
  /** KV state [B, H, d_h, d_h] after the previous tokens (null/absent = start of the sequence). */
  state?: Tensor | null;
}

/** Lightning attention block with TransNormerLLM's activation, norm and output gate. */
export class LightningAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  norm: LayerNorm;
  output_gate: Sequential;
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly slopes: readonly number[];
  readonly form: LinearAttentionForm;
  readonly blockSize: number;

  constructor(opts: LightningAttentionOptions) {
    super();
    const { hiddenSize, numHeads, bias = false, init = 'default' } = opts;
    checkPositiveInts('LightningAttention', { hiddenSize, numHeads, headDim: opts.headDim, blockSize: opts.blockSize });
    if (opts.headDim === undefined && hiddenSize % numHeads !== 0)
      throw new ArgumentError(`LightningAttention: hiddenSize ${hiddenSize} is not divisible by numHeads ${numHeads}; pass headDim`);
    this.hiddenSize = hiddenSize;
    this.numHeads = numHeads;
    this.headDim = opts.headDim ?? hiddenSize / numHeads;
    this.form = opts.form ?? 'chunked';
    this.blockSize = opts.blockSize ?? 64;
    if (opts.slopes && opts.slopes.length !== numHeads)
      throw new ArgumentError(`LightningAttention: slopes must have one value per head (${numHeads}), got ${opts.slopes.length}`);
    this.slopes = opts.slopes ? [...opts.slopes] : lightningSlopes(numHeads, { layerIndex: opts.layerIndex ?? 0, numLayers: opts.numLayers ?? 12 });
    const inner = numHeads * this.headDim;
    this.q_proj = makeLinear(hiddenSize, inner, bias, init, opts);
    this.k_proj = makeLinear(hiddenSize, inner, bias, init, opts);
    this.v_proj = makeLinear(hiddenSize, inner, bias, init, opts);
    this.o_proj = makeLinear(inner, hiddenSize, bias, init, opts);
    this.norm = new LayerNorm(inner, { dtype: opts.dtype, device: opts.device });
    this.output_gate = new Sequential(makeLinear(hiddenSize, this.headDim, bias, init, opts), makeLinear(this.headDim, inner, bias, init, opts));
  }

  override forward(x: Tensor, opts: LightningForwardOptions = {}): Tensor {
    return this.forwardWithState(x, opts).output;
  }

  /** x [B, T, d] → output [B, T, d] and the KV state after the last token (pass it to the next call to continue). */
  forwardWithState(x: Tensor, opts: LightningForwardOptions = {}): { output: Tensor; state: Tensor } {
    checkSequence('LightningAttention', 'input', x, this.hiddenSize);
    const heads = (t: Tensor) => splitHeads(t.silu(), this.numHeads, this.headDim);
    const [q, k, v] = [heads(this.q_proj.forward(x)), heads(this.k_proj.forward(x)), heads(this.v_proj.forward(x))];
    // A single new token with a state is a decoding step: the recurrence is the cheapest exact form.
    const form = x.shape[1] === 1 ? 'recurrent' : this.form;
    const { output, state } = linearAttention(q, k, v, this.slopes, { form, blockSize: this.blockSize, initialState: opts.state ?? null });
    const gate = (this.output_gate.forward(x) as Tensor).sigmoid();
    return { output: this.o_proj.forward(this.norm.forward(mergeHeads(output)).mul(gate)), state };
  }

  /** Decoding state elements per layer per sequence: H·d_h·d_h, independent of the sequence length. */
  stateElements(): number {
    return this.numHeads * this.headDim * this.headDim;
  }

  override extraRepr(): string {
    return `hiddenSize=${this.hiddenSize}, numHeads=${this.numHeads}, headDim=${this.headDim}, form=${this.form}`;
  }
}
