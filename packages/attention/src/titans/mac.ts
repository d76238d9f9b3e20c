/**
 * Titans' memory-as-context layer (MAC; paper §4.1, spec §8.6), the paper's version (not lucidrains' transformer).
 * The stream is cut into segments S^(t) of `segmentLength` tokens; for each segment:
 *
 *   h_t  = M*_{t−1}(S^(t))            retrieve with the memory as it was before the segment (no write)
 *   ỹ    = Attn([P ; h_t ; S^(t)])    attention inside the window; outputs taken at the segment tokens
 *   M_t  = M_{t−1}(y_t)               write the attention outputs into the memory
 *   o_t  = N₁(y_t) ⊙ σ(N₂(M*_t(y_t))) read again and gate (the gate of MAG; the paper leaves ⊗ open)
 *
 * Causality (a requirement of the spec, not stated by the paper): segment token i sees every persistent token, the
 * retrieved tokens h_j and segment tokens x_j for j ≤ i only; and the write/read of y uses the memory's chunk-causal
 * rule (token i reads only chunks that end at or before it), so no output depends on a later token. Decoding keeps
 * the current segment's keys/values, the memory at the segment start and the running memory; a single-token call
 * ≡ the full forward.
 */
import { ArgumentError, cat, tensor, Tensor } from '@tessera/core';
import { Module, RMSNorm, type Linear } from '@tessera/nn';
import { makeLinear, mergeHeads, splitHeads } from '../heads.js';
import { attentionCore } from '../sdpa.js';
import { buildPersistentAndMemory, type TitansLayerOptions } from './mag-mal.js';
import type { NeuralMemory, NeuralMemoryState } from './neural-memory.js';

/** Options of {@link MemoryAsContext}. */
export interface MemoryAsContextOptions extends TitansLayerOptions {
  /** Segment (attention window) length C of the paper's MAC. */
  segmentLength: number;
}

/** Decoding state of MAC. */
export interface MemoryAsContextState {
  /** The running memory (after every token written so far). */
  memory: NeuralMemoryState | null;
  /** The memory at the start of the current segment (what h_t is retrieved from). */
  segmentMemory: NeuralMemoryState | null;
  /** Keys/values of the current segment's retrieved tokens and input tokens, [B, H, s, d_h] (null when s = 0). */
  retrievedKeys: Tensor | null;
  retrievedValues: Tensor | null;
  tokenKeys: Tensor | null;
  tokenValues: Tensor | null;
  /** Tokens of the current segment seen so far, s < segmentLength. */
  segmentPosition: number;
}

/** Memory as context: segment attention over [persistent ; retrieved memory ; segment], then memory write and gate. */
export class MemoryAsContext extends Module {
  persistent_memory: Tensor | null;
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  memory: NeuralMemory;
  attention_norm: RMSNorm;
  memory_norm: RMSNorm;
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly segmentLength: number;

  constructor(opts: MemoryAsContextOptions) {
    super();
    const { persistent, memory, heads } = buildPersistentAndMemory('MemoryAsContext', opts);
    const { dim, segmentLength } = opts;
    if (!Number.isInteger(segmentLength) || segmentLength < 1) throw new ArgumentError(`MemoryAsContext: segmentLength must be a positive integer, got ${segmentLength}`);
    if (opts.headDim === undefined && dim % heads !== 0) throw new ArgumentError(`MemoryAsContext: dim ${dim} is not divisible by heads ${heads}; pass headDim`);
    this.dim = dim;
    this.heads = heads;
    this.headDim = opts.headDim ?? dim / heads;
    this.segmentLength = segmentLength;
    this.persistent_memory = persistent;
    const inner = heads * this.headDim;
    this.q_proj = makeLinear(dim, inner, false, 'default', opts);
    this.k_proj = makeLinear(dim, inner, false, 'default', opts);
    this.v_proj = makeLinear(dim, inner, false, 'default', opts);
    this.o_proj = makeLinear(inner, dim, false, 'default', opts);
    this.memory = memory;
    this.attention_norm = new RMSNorm(dim, { dtype: opts.dtype, device: opts.device });
    this.memory_norm = new RMSNorm(dim, { dtype: opts.dtype, device: opts.device });
  }

  override forward(x: Tensor, state: MemoryAsContextState | null = null): Tensor {
    return this.forwardWithState(x, state).output;
  }

  /** x [B, T, d] → o [B, T, d], processed segment by segment (pieces split at segment boundaries). */
  forwardWithState(x: Tensor, state: MemoryAsContextState | null = null): { output: Tensor; state: MemoryAsContextState } {
    if (x.ndim !== 3 || x.shape[2] !== this.dim) throw new ArgumentError(`MemoryAsContext: expected input [batch, tokens, ${this.dim}], got [${x.shape.join(', ')}]`);
    let st: MemoryAsContextState = state ?? { memory: null, segmentMemory: null, retrievedKeys: null, retrievedValues: null, tokenKeys: null, tokenValues: null, segmentPosition: 0 };
    const outs: Tensor[] = [];
    for (let at = 0; at < x.shape[1]!; ) {
      const L = Math.min(this.segmentLength - st.segmentPosition, x.shape[1]! - at);
      const piece = this.segmentPiece(x.narrow(1, at, L), st);
      outs.push(piece.output);
      st = piece.state;
      at += L;
    }
    return { output: outs.length === 1 ? outs[0]! : cat(outs, 1), state: st };
  }

  /** L tokens inside one segment, at offsets s0 … s0 + L − 1. */
  private segmentPiece(x: Tensor, st: MemoryAsContextState): { output: Tensor; state: MemoryAsContextState } {
    const [B, L] = [x.shape[0]!, x.shape[1]!];
    const s0 = st.segmentPosition;
    const heads = (t: Tensor) => splitHeads(t, this.heads, this.headDim);
    const h = this.memory.retrieve(x, st.segmentMemory); // h_t: read-only, memory before the segment
    const [kh, vh] = [heads(this.k_proj.forward(h)), heads(this.v_proj.forward(h))];
    const [kx, vx] = [heads(this.k_proj.forward(x)), heads(this.v_proj.forward(x))];
    const q = heads(this.q_proj.forward(x));
    const grow = (prev: Tensor | null, t: Tensor) => (prev ? cat([prev, t], 2) : t);
    const [rk, rv, tk, tv] = [grow(st.retrievedKeys, kh), grow(st.retrievedValues, vh), grow(st.tokenKeys, kx), grow(st.tokenValues, vx)];
    const parts = [rk, tk];
    const vparts = [rv, tv];
    const np = this.persistent_memory?.shape[0] ?? 0;
    if (this.persistent_memory) {
      const p = this.persistent_memory.unsqueeze(0).expand([B, np, this.dim]);
      parts.unshift(heads(this.k_proj.forward(p)));
      vparts.unshift(heads(this.v_proj.forward(p)));
    }
    const s = s0 + L;
    const out = attentionCore('MemoryAsContext', q, cat(parts, 2), cat(vparts, 2), { attnMask: this.windowMask(np, s0, L, x.device) }).output;
    const y = this.o_proj.forward(mergeHeads(out));
    const written = this.memory.forwardWithState(y, { state: st.memory });
    const o = this.attention_norm.forward(y).mul(this.memory_norm.forward(written.output).sigmoid());
    const done = s === this.segmentLength;
    return {
      output: o,
      state: done
        ? { memory: written.state, segmentMemory: written.state, retrievedKeys: null, retrievedValues: null, tokenKeys: null, tokenValues: null, segmentPosition: 0 }
        : { memory: written.state, segmentMemory: st.segmentMemory, retrievedKeys: rk, retrievedValues: rv, tokenKeys: tk, tokenValues: tv, segmentPosition: s },
    };
  }

  /** Bool [L, N_p + 2s]: persistent keys always; retrieved h_j and tokens x_j for j ≤ the query's segment offset. */
  private windowMask(np: number, s0: number, L: number, device: string): Tensor {
    const s = s0 + L;
    const rows: boolean[] = [];
    for (let i = 0; i < L; i++) {
      const row = s0 + i;
      for (let j = 0; j < np; j++) rows.push(true);
      for (let r = 0; r < 2; r++) for (let j = 0; j < s; j++) rows.push(j <= row);
    }
    return tensor(rows, { device }).reshape([L, np + 2 * s]);
  }

  /** Attention keys per sequence at most: N_p + 2·segmentLength (plus the memory's constant state). */
  windowSize(): number {
    return (this.persistent_memory?.shape[0] ?? 0) + 2 * this.segmentLength;
  }
}
