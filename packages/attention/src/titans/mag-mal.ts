/**
 * Titans' memory-as-gate (MAG) and memory-as-layer (MAL) sequence layers (spec §8.6), with persistent memory
 * tokens P (learned, input-independent, prepended once at the start of the stream; their outputs are dropped):
 *
 *   MAG:  x̃ = [P ; x];  y = SW-Attn*(x̃);  o = N₁(y) ⊙ σ(N₂(M(x̃)))
 *   MAL:  x̃ = [P ; x];  y = M(x̃);         o = SW-Attn(y)
 *
 * M is the neural memory run over x̃ (store and retrieve per token); SW-Attn is sliding-window attention whose
 * persistent prefix stays visible. The paper leaves MAG's gate ⊗ open (both branches normalised with learnable
 * gains, then a non-linearity); the spec's choice — RMSNorms N₁, N₂ and the logistic sigmoid — is used here, as a
 * design decision. Both layers map [B, T, d] → [B, T, d]; residuals and MLPs belong to the surrounding block.
 */
import { ArgumentError, cat, Tensor, zeros } from '@tessera/core';
import { Module, normal_, Parameter, RMSNorm, type FactoryOptions } from '@tessera/nn';
import type { RopeOptions } from '../rope.js';
import { NeuralMemory, type NeuralMemoryOptions, type NeuralMemoryState } from './neural-memory.js';
import { PersistentWindowAttention, type WindowAttentionState } from './window-attention.js';

/** Options shared by the Titans layers. */
export interface TitansLayerOptions extends FactoryOptions {
  /** Model width d. */
  dim: number;
  /** Attention heads (default 4 when they divide d, else 1). */
  heads?: number;
  /** Attention head dim (default d / heads). */
  headDim?: number;
  /** Persistent memory tokens N_p (default 4; 0 for none). */
  numPersistent?: number;
  /**
   * The neural memory: options (dim is filled in) or a built NeuralMemory of width d. Unless given, the layers use as
   * many memory heads as attention heads and chunks of 16 tokens (the Titans revision's chunk size): a chunk size of
   * 1 materialises one weight set per token, which dominates training cost (spec §8.8).
   */
  memory?: Omit<NeuralMemoryOptions, 'dim'> | NeuralMemory;
}

/** Options of MAG and MAL: the shared ones plus the attention window and RoPE. */
export interface SlidingWindowTitansOptions extends TitansLayerOptions {
  /** Sliding window W of the attention (keys including the query's own; null = full causal). */
  window?: number | null;
  /** RoPE in the attention, by stream position (default none). */
  rope?: RopeOptions | null;
}

/** Decoding state of MAG / MAL: the attention window and the memory. */
export interface SlidingWindowTitansState {
  attention: WindowAttentionState | null;
  memory: NeuralMemoryState | null;
}

/** @internal Shared construction: persistent tokens and the memory. */
export function buildPersistentAndMemory(owner: string, opts: TitansLayerOptions): { persistent: Tensor | null; memory: NeuralMemory; heads: number } {
  const { dim } = opts;
  if (!Number.isInteger(dim) || dim < 1) throw new ArgumentError(`${owner}: dim must be a positive integer, got ${dim}`);
  const heads = opts.heads ?? (dim % 4 === 0 ? 4 : 1);
  const n = opts.numPersistent ?? 4;
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`${owner}: numPersistent must be a non-negative integer, got ${n}`);
  const p = { dtype: opts.dtype, device: opts.device };
  let persistent: Tensor | null = null;
  if (n > 0) {
    persistent = Parameter(zeros([n, dim], p));
    normal_(persistent, 0, 0.02, { generator: opts.generator });
  }
  let memory: NeuralMemory;
  if (opts.memory instanceof NeuralMemory) {
    if (opts.memory.dim !== dim) throw new ArgumentError(`${owner}: the neural memory has width ${opts.memory.dim}, expected ${dim}`);
    memory = opts.memory;
  } else memory = new NeuralMemory({ ...p, generator: opts.generator, heads: dim % heads === 0 ? heads : 1, chunkSize: 16, ...(opts.memory ?? {}), dim });
  return { persistent, memory, heads };
}

/** @internal Prepends the persistent tokens at the start of the stream. */
export function withPersistent(x: Tensor, persistent: Tensor | null, atStart: boolean): Tensor {
  if (!persistent || !atStart) return x;
  const [B, d] = [x.shape[0]!, x.shape[2]!];
  return cat([persistent.unsqueeze(0).expand([B, persistent.shape[0]!, d]), x], 1);
}

/** @internal Drops the outputs at persistent positions (present only in the first call of a stream). */
export function dropPersistent(y: Tensor, persistent: Tensor | null, atStart: boolean): Tensor {
  if (!persistent || !atStart) return y;
  const n = persistent.shape[0]!;
  return y.narrow(1, n, y.shape[1]! - n);
}

/** Memory as a gate: sliding-window attention and the neural memory in parallel, combined by a sigmoid gate. */
export class MemoryAsGate extends Module {
  persistent_memory: Tensor | null;
  attention: PersistentWindowAttention;
  memory: NeuralMemory;
  attention_norm: RMSNorm;
  memory_norm: RMSNorm;
  readonly dim: number;

  constructor(opts: SlidingWindowTitansOptions) {
    super();
    const { persistent, memory, heads } = buildPersistentAndMemory('MemoryAsGate', opts);
    this.dim = opts.dim;
    this.persistent_memory = persistent;
    this.attention = new PersistentWindowAttention({ ...opts, heads, window: opts.window ?? null, numPersistent: persistent?.shape[0] ?? 0 });
    this.memory = memory;
    this.attention_norm = new RMSNorm(opts.dim, { dtype: opts.dtype, device: opts.device });
    this.memory_norm = new RMSNorm(opts.dim, { dtype: opts.dtype, device: opts.device });
  }

  override forward(x: Tensor, state: SlidingWindowTitansState | null = null): Tensor {
    return this.forwardWithState(x, state).output;
  }

  /** x [B, T, d] → o [B, T, d] and the state to continue the stream with. */
  forwardWithState(x: Tensor, state: SlidingWindowTitansState | null = null): { output: Tensor; state: SlidingWindowTitansState } {
    const atStart = !state?.attention;
    const xt = withPersistent(x, this.persistent_memory, atStart);
    const attn = this.attention.forwardWithState(xt, state?.attention ?? null);
    const mem = this.memory.forwardWithState(xt, { state: state?.memory ?? null });
    const o = this.attention_norm.forward(attn.output).mul(this.memory_norm.forward(mem.output).sigmoid());
    return { output: dropPersistent(o, this.persistent_memory, atStart), state: { attention: attn.state, memory: mem.state } };
  }
}

/** Memory as a layer: the neural memory, then sliding-window attention over its outputs. */
export class MemoryAsLayer extends Module {
  persistent_memory: Tensor | null;
  memory: NeuralMemory;
  attention: PersistentWindowAttention;
  readonly dim: number;

  constructor(opts: SlidingWindowTitansOptions) {
    super();
    const { persistent, memory, heads } = buildPersistentAndMemory('MemoryAsLayer', opts);
    this.dim = opts.dim;
    this.persistent_memory = persistent;
    this.memory = memory;
    this.attention = new PersistentWindowAttention({ ...opts, heads, window: opts.window ?? null, numPersistent: persistent?.shape[0] ?? 0 });
  }

  override forward(x: Tensor, state: SlidingWindowTitansState | null = null): Tensor {
    return this.forwardWithState(x, state).output;
  }

  forwardWithState(x: Tensor, state: SlidingWindowTitansState | null = null): { output: Tensor; state: SlidingWindowTitansState } {
    const atStart = !state?.attention;
    const xt = withPersistent(x, this.persistent_memory, atStart);
    const mem = this.memory.forwardWithState(xt, { state: state?.memory ?? null });
    const attn = this.attention.forwardWithState(mem.output, state?.attention ?? null);
    return { output: dropPersistent(attn.output, this.persistent_memory, atStart), state: { attention: attn.state, memory: mem.state } };
  }
}
