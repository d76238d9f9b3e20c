/**
 * The self-attention modules `--attention` can put in the GPT's blocks: one registry entry per name. Each entry
 * builds the module for one layer; the GPT only needs `forward(x [B, T, d]) → [B, T, d]`, causal.
 *
 * Entries for modules that `@tessera/attention` does not export (yet) stay hidden: an entry names the export it
 * needs, and the choice appears once the package exports it. Adding a module is one line in ATTENTION_CHOICES.
 */
import * as attention from '@tessera/attention';
import type { Tensor } from '@tessera/core';
import { Module, type FactoryOptions } from '@tessera/nn';

/** Model settings an attention module is built from. */
export interface AttentionConfig {
  hiddenSize: number;
  numHeads: number;
  /** Key/value heads for GQA-style modules (divides numHeads). */
  numKvHeads: number;
  /** Context length the model trains on. */
  blockSize: number;
  /** Sliding-window size for 'swa'. */
  window: number;
  numLayers: number;
  factory: FactoryOptions;
}

export interface AttentionChoice {
  summary: string;
  /** 'rope' when the module encodes positions itself; 'learned' adds a learned position embedding to the GPT. */
  positions: 'rope' | 'learned';
  /** The @tessera/attention export this choice needs; hidden until it exists. */
  needs?: string;
  build(cfg: AttentionConfig, layer: number): Module;
  /** An auxiliary loss the module asks to be added to the task loss (e.g. MoH's load balance). */
  auxLoss?: (model: Module) => Tensor | null;
}

/** A constructor taken from the package by name, for modules that are only sometimes exported. */
type AnyModuleClass = new (opts: Record<string, unknown>) => Module;
function exported<T = AnyModuleClass>(name: string): T {
  const value = (attention as Record<string, unknown>)[name];
  if (typeof value !== 'function') throw new Error(`@tessera/attention does not export ${name}`);
  return value as T;
}
type AuxLossFn = (model: Module, opts: { clear?: boolean }) => Tensor | null;

const gqa = (c: AttentionConfig, extra: Partial<attention.GroupedQueryAttentionOptions> = {}) =>
  ({ hiddenSize: c.hiddenSize, numHeads: c.numHeads, ...c.factory, ...extra });

/** nn.MultiheadAttention as causal self-attention (it has no positional encoding of its own). */
class CausalTorchMHA extends Module {
  mha: attention.MultiheadAttention;
  constructor(c: AttentionConfig) {
    super();
    this.mha = new attention.MultiheadAttention(c.hiddenSize, c.numHeads, { ...c.factory, batchFirst: true });
  }
  override forward(x: Tensor): Tensor {
    const T = x.shape[1]!;
    // PyTorch's bool attnMask polarity: true = blocked.
    const blocked = attention.causalMask(T, T, { device: x.device }).logicalNot();
    return this.mha.forward(x, x, x, { attnMask: blocked, needWeights: false })[0];
  }
}

export const ATTENTION_CHOICES: Record<string, AttentionChoice> = {
  mha: { summary: 'multi-head attention, LLaMA-style with RoPE (H_kv = H)', positions: 'rope', build: (c) => new attention.GroupedQueryAttention(gqa(c)) },
  gqa: { summary: 'grouped-query attention (--kv-heads key/value heads)', positions: 'rope', build: (c) => new attention.GroupedQueryAttention(gqa(c, { numKvHeads: c.numKvHeads })) },
  mqa: { summary: 'multi-query attention (one key/value head)', positions: 'rope', build: (c) => new attention.MultiQueryAttention(gqa(c)) },
  swa: { summary: 'sliding-window attention (--window keys)', positions: 'rope', build: (c) => new attention.SlidingWindowAttention({ ...gqa(c), slidingWindow: c.window }) },
  sqa: { summary: 'sparse query attention (half the query heads)', positions: 'rope', build: (c) => new attention.SparseQueryAttention({ ...gqa(c), ...sqaHeads(c) }) },
  sigmoid: { summary: 'sigmoid attention (bias −ln blockSize)', positions: 'rope', build: (c) => new attention.SigmoidAttention({ ...gqa(c), sequenceLength: c.blockSize }) },
  cla: { summary: 'cross-layer attention (pairs of layers share K/V)', positions: 'rope', build: (c, l) => new attention.GroupedQueryAttention(gqa(c, { ownsKeyValues: l % 2 === 0 })) },
  'torch-mha': { summary: 'torch.nn.MultiheadAttention, causal mask, learned positions', positions: 'learned', build: (c) => new CausalTorchMHA(c) },
  moh: { summary: 'mixture-of-head attention (3/4 of the heads active per token)', positions: 'rope', needs: 'MixtureOfHeadsAttention', build: (c) => new (exported('MixtureOfHeadsAttention'))({ ...gqa(c), activationRatio: 0.75 }), auxLoss: (m) => exported<AuxLossFn>('mohAuxiliaryLoss')(m, { clear: true }) },
  mla: { summary: 'multi-head latent attention (compressed K/V)', positions: 'rope', needs: 'MultiHeadLatentAttention', build: (c) => new (exported('MultiHeadLatentAttention'))({ ...c.factory, ...mlaShape(c) }) },
  lightning: { summary: 'lightning (linear) attention with decay', positions: 'learned', needs: 'LightningAttention', build: (c, l) => new (exported('LightningAttention'))({ ...gqa(c), layerIndex: l, numLayers: c.numLayers }) },
  'titans-mag': { summary: 'Titans memory as a gate beside window attention', positions: 'learned', needs: 'MemoryAsGate', build: (c) => new (exported('MemoryAsGate'))(titans(c)) },
  'titans-mal': { summary: 'Titans memory as a layer before window attention', positions: 'learned', needs: 'MemoryAsLayer', build: (c) => new (exported('MemoryAsLayer'))(titans(c)) },
  'titans-mac': { summary: 'Titans memory as context for segment attention', positions: 'learned', needs: 'MemoryAsContext', build: (c) => new (exported('MemoryAsContext'))({ ...titans(c), segmentLength: c.window }) },
  'titans-window': { summary: "Titans' sliding-window attention alone (no memory)", positions: 'learned', needs: 'PersistentWindowAttention', build: (c) => new (exported('PersistentWindowAttention'))({ ...c.factory, dim: c.hiddenSize, heads: c.numHeads, window: c.window }) },
};

/** Titans layer options: the neural memory works on chunks of 8 tokens with one memory head per attention head. */
function titans(c: AttentionConfig) {
  return { ...c.factory, dim: c.hiddenSize, heads: c.numHeads, window: c.window, memory: { heads: c.numHeads, chunkSize: Math.min(8, c.blockSize) } };
}

/** A small MLA shape for width d: latent ⌊d/2⌋, no query compression, about half of each head's dims rotary (even). */
function mlaShape(c: AttentionConfig) {
  const headDim = Math.floor(c.hiddenSize / c.numHeads);
  const rope = Math.max(2, 2 * Math.floor(headDim / 4));
  return {
    hiddenSize: c.hiddenSize, numHeads: c.numHeads, qLoraRank: null, kvLoraRank: Math.max(1, Math.floor(c.hiddenSize / 2)),
    qkNopeHeadDim: Math.max(0, headDim - rope), qkRopeHeadDim: rope, vHeadDim: Math.max(1, headDim),
  };
}

/** SQA: half the query heads (at least one), and the most key/value heads ≤ --kv-heads that divide them. */
function sqaHeads(c: AttentionConfig) {
  const numQueryHeads = Math.max(1, Math.floor(c.numHeads / 2));
  let numKvHeads = Math.min(c.numKvHeads, numQueryHeads);
  while (numQueryHeads % numKvHeads !== 0) numKvHeads--;
  return { numHeads: c.numHeads, numQueryHeads, numKvHeads };
}

/** Names usable now, in registry order. */
export function availableAttention(): string[] {
  return Object.entries(ATTENTION_CHOICES)
    .filter(([, c]) => !c.needs || typeof (attention as Record<string, unknown>)[c.needs] === 'function')
    .map(([name]) => name);
}
