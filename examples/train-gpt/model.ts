/**
 * A small GPT for characters: token embedding (plus a learned position embedding when the attention module has no
 * RoPE of its own), pre-norm blocks (RMSNorm → attention → residual, RMSNorm → SwiGLU MLP → residual), a final
 * RMSNorm and a linear head over the vocabulary. The attention module of each block comes from attention-choices.ts.
 */
import { arange, ArgumentError, type Tensor } from '@tessera/core';
import type { AttentionWithKV, CacheUpdate } from '@tessera/attention';
import { Embedding, Linear, Module, ModuleList, normal_, RMSNorm, SwiGLUMLP, type FactoryOptions } from '@tessera/nn';
import { ATTENTION_CHOICES, availableAttention, type AttentionConfig } from './attention-choices.js';

/** Everything needed to rebuild the model; stored in checkpoints. */
export interface GPTConfig {
  vocabSize: number;
  blockSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  window: number;
  attention: string;
}

export class Block extends Module {
  norm1: RMSNorm;
  attn: Module;
  norm2: RMSNorm;
  mlp: SwiGLUMLP;
  constructor(attn: Module, d: number, factory: FactoryOptions) {
    super();
    this.norm1 = new RMSNorm(d, factory);
    this.attn = attn;
    this.norm2 = new RMSNorm(d, factory);
    this.mlp = new SwiGLUMLP(d, Math.ceil((8 * d) / 3 / 8) * 8, factory);
  }
}

/** Modules that can hand their keys/values to the next layer (GroupedQueryAttention and its configurations). */
interface SharesKV {
  ownsKeyValues: boolean;
  forwardWithKV(x: Tensor): AttentionWithKV;
  forward(x: Tensor, opts: { sharedKV: CacheUpdate | null }): Tensor;
}

export class GPT extends Module {
  tok_emb: Embedding;
  pos_emb: Embedding | null = null;
  blocks: ModuleList;
  norm: RMSNorm;
  lm_head: Linear;
  readonly config: GPTConfig;

  constructor(config: GPTConfig, factory: FactoryOptions = {}) {
    super();
    const choice = ATTENTION_CHOICES[config.attention];
    if (!choice || !availableAttention().includes(config.attention))
      throw new ArgumentError(`GPT: attention '${config.attention}' is not available (available: ${availableAttention().join(', ')})`);
    this.config = config;
    const d = config.hiddenSize;
    const attnConfig: AttentionConfig = { ...config, factory };
    this.tok_emb = new Embedding(config.vocabSize, d, factory);
    normal_(this.tok_emb.weight, 0, 0.02, { generator: factory.generator });
    if (choice.positions === 'learned') {
      this.pos_emb = new Embedding(config.blockSize, d, factory);
      normal_(this.pos_emb.weight, 0, 0.02, { generator: factory.generator });
    }
    this.blocks = new ModuleList(Array.from({ length: config.numLayers }, (_, l) => new Block(choice.build(attnConfig, l), d, factory)));
    this.norm = new RMSNorm(d, factory);
    this.lm_head = new Linear(d, config.vocabSize, { ...factory, bias: false });
    normal_(this.lm_head.weight, 0, 0.02, { generator: factory.generator });
  }

  /** Token ids int32 [B, T] (T ≤ blockSize) → logits [B, T, vocab]. */
  override forward(ids: Tensor): Tensor {
    const T = ids.shape[1]!;
    if (T > this.config.blockSize) throw new ArgumentError(`GPT: ${T} tokens exceed the block size ${this.config.blockSize}`);
    let h = this.tok_emb.forward(ids);
    if (this.pos_emb) h = h.add(this.pos_emb.forward(arange(T, undefined, 1, { device: ids.device })));
    let shared: CacheUpdate | null = null;
    for (const block of this.blocks as Iterable<Module>) {
      const { norm1, attn, norm2, mlp } = block as Block;
      const x = norm1.forward(h);
      let a: Tensor;
      const kvAttn = attn as unknown as Partial<SharesKV>;
      if (kvAttn.ownsKeyValues === true && kvAttn.forwardWithKV) {
        // Keep this layer's K/V for the Cross-Layer Attention consumers after it.
        const r = kvAttn.forwardWithKV(x);
        [a, shared] = [r.output, r.kv];
      } else if (kvAttn.ownsKeyValues === false) a = (attn as unknown as SharesKV).forward(x, { sharedKV: shared });
      else a = attn.forward(x) as Tensor;
      h = h.add(a);
      h = h.add(mlp.forward(norm2.forward(h)));
    }
    return this.lm_head.forward(this.norm.forward(h));
  }
}
