/**
 * Causal multi-head attention over a stream whose first `numPersistent` positions are persistent-memory tokens
 * (Titans §3.3, spec §8.5): those keys stay visible to every later query, while the other keys are limited to a
 * sliding window of W keys including the query's own (spec §9.5 convention). This is the "SW-Attn*" of MAG and
 * the attention of MAL (spec §8.6).
 *
 * Decoding state: the persistent keys/values plus the last W − 1 ordinary ones (bounded by the window).
 */
import { ArgumentError, cat, tensor, Tensor } from '@tessera/core';
import { Module, type FactoryOptions, type Linear } from '@tessera/nn';
import { checkPositiveInts, makeLinear, mergeHeads, splitHeads, type LinearInit } from '../heads.js';
import { RotaryEmbedding, type RopeOptions } from '../rope.js';
import { attentionCore } from '../sdpa.js';

/** Options of {@link PersistentWindowAttention}. */
export interface PersistentWindowAttentionOptions extends FactoryOptions {
  dim: number;
  heads: number;
  /** Head dim (default dim / heads). */
  headDim?: number;
  /** Sliding window W (keys including the query's own, persistent ones not counted); null = full causal. */
  window?: number | null;
  /** Number of leading stream positions that are persistent tokens (always visible; default 0). */
  numPersistent?: number;
  /** RoPE on q and k by stream position (default none). */
  rope?: RopeOptions | null;
  /** Linear initialisation (default: PyTorch's Linear default). */
  init?: LinearInit;
}

/** Keys and values kept between calls, with each slot's stream position. */
export interface WindowAttentionState {
  keys: Tensor;
  values: Tensor;
  positions: number[];
  /** Stream positions consumed so far. */
  length: number;
}

const ints = (values: readonly number[], shape: number[], device?: string) => tensor(Int32Array.from(values), { device }).reshape(shape);

/** Bool [L, S] mask: query qp may see key kp iff kp ≤ qp and (kp < numPersistent or qp − kp < window). */
export function persistentWindowMask(queryPositions: readonly number[], keyPositions: readonly number[], numPersistent: number, window: number | null, device?: string): Tensor {
  const q = ints(queryPositions, [queryPositions.length, 1], device);
  const k = ints(keyPositions, [1, keyPositions.length], device);
  const causal = k.le(q);
  return window === null ? causal : causal.logicalAnd(q.sub(k).lt(window).logicalOr(k.lt(numPersistent)));
}

/** Sliding-window attention with an always-visible persistent prefix. */
export class PersistentWindowAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly window: number | null;
  readonly numPersistent: number;
  readonly rotary: RotaryEmbedding | null;

  constructor(opts: PersistentWindowAttentionOptions) {
    super();
    const { dim, heads, init = 'default' } = opts;
    checkPositiveInts('PersistentWindowAttention', { dim, heads, headDim: opts.headDim, window: opts.window ?? undefined });
    if (opts.headDim === undefined && dim % heads !== 0) throw new ArgumentError(`PersistentWindowAttention: dim ${dim} is not divisible by heads ${heads}; pass headDim`);
    this.dim = dim;
    this.heads = heads;
    this.headDim = opts.headDim ?? dim / heads;
    this.window = opts.window ?? null;
    this.numPersistent = opts.numPersistent ?? 0;
    if (!Number.isInteger(this.numPersistent) || this.numPersistent < 0) throw new ArgumentError(`PersistentWindowAttention: numPersistent must be a non-negative integer, got ${opts.numPersistent}`);
    this.rotary = opts.rope ? new RotaryEmbedding(this.headDim, opts.rope) : null;
    const inner = heads * this.headDim;
    this.q_proj = makeLinear(dim, inner, false, init, opts);
    this.k_proj = makeLinear(dim, inner, false, init, opts);
    this.v_proj = makeLinear(dim, inner, false, init, opts);
    this.o_proj = makeLinear(inner, dim, false, init, opts);
  }

  override forward(x: Tensor, state: WindowAttentionState | null = null): Tensor {
    return this.forwardWithState(x, state).output;
  }

  /** x [B, L, d]: the next L stream tokens (the first numPersistent stream positions are the persistent ones). */
  forwardWithState(x: Tensor, state: WindowAttentionState | null = null): { output: Tensor; state: WindowAttentionState } {
    if (x.ndim !== 3 || x.shape[2] !== this.dim) throw new ArgumentError(`PersistentWindowAttention: expected input [batch, tokens, ${this.dim}], got [${x.shape.join(', ')}]`);
    const L = x.shape[1]!;
    const P = state?.length ?? 0;
    const positions = Array.from({ length: L }, (_, i) => P + i);
    let q = splitHeads(this.q_proj.forward(x), this.heads, this.headDim);
    let k = splitHeads(this.k_proj.forward(x), this.heads, this.headDim);
    const v = splitHeads(this.v_proj.forward(x), this.heads, this.headDim);
    if (this.rotary) {
      q = this.rotary.apply(q, P);
      k = this.rotary.apply(k, P);
    }
    const keys = state ? cat([state.keys, k], 2) : k;
    const values = state ? cat([state.values, v], 2) : v;
    const keyPositions = [...(state?.positions ?? []), ...positions];
    const mask = persistentWindowMask(positions, keyPositions, this.numPersistent, this.window, x.device);
    const out = attentionCore('PersistentWindowAttention', q, keys, values, { attnMask: mask }).output;
    return { output: this.o_proj.forward(mergeHeads(out)), state: this.trim(keys, values, keyPositions, P + L) };
  }

  /** Keeps the persistent slots and the last W − 1 ordinary ones (everything without a window). */
  private trim(keys: Tensor, values: Tensor, positions: number[], length: number): WindowAttentionState {
    if (this.window === null) return { keys, values, positions, length };
    const keep = positions.map((p, i) => [p, i] as const).filter(([p]) => p < this.numPersistent || length - p < this.window!).map(([, i]) => i);
    if (keep.length === positions.length) return { keys, values, positions, length };
    const index = tensor(Int32Array.from(keep), { device: keys.device });
    return { keys: keys.indexSelect(2, index), values: values.indexSelect(2, index), positions: keep.map((i) => positions[i]!), length };
  }

  override extraRepr(): string {
    return `dim=${this.dim}, heads=${this.heads}, headDim=${this.headDim}, window=${this.window}, numPersistent=${this.numPersistent}`;
  }
}
