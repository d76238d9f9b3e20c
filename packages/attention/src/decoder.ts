/**
 * A small LLaMA-style decoder-only language model built from this package's attention: token embedding, pre-norm
 * blocks (RMSNorm → attention → residual, RMSNorm → SwiGLU MLP → residual), final RMSNorm and LM head. It is the
 * host for KV-cache decoding, `generate`, and Cross-Layer Attention (layers in blocks of `claSharingFactor` share
 * the first layer's K/V and cache). Attention parameter names follow Hugging Face (layers.i.self_attn.q_proj, …).
 */
import { ArgumentError, DTypeError, fmtShape, ShapeError, Tensor } from '@tessera/core';
import { Embedding, Linear, Module, ModuleList, normal_, RMSNorm, SwiGLUMLP, type FactoryOptions } from '@tessera/nn';
import { GroupedQueryAttention, type GroupedQueryAttentionOptions } from './grouped.js';
import { LayerCaches, type CacheUpdate } from './kv-cache.js';

export interface DecoderLMOptions extends FactoryOptions, Omit<GroupedQueryAttentionOptions, 'hiddenSize' | 'ownsKeyValues' | keyof FactoryOptions> {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  /** MLP width (default ⌈8d/3⌉ rounded up to a multiple of 8). */
  intermediateSize?: number;
  /** RMSNorm epsilon (default 1e-6). */
  rmsNormEps?: number;
  /** Cross-Layer Attention sharing factor s (default 1: every layer has its own K/V). */
  claSharingFactor?: number;
  /** Share the embedding matrix with the LM head (default false). */
  tieWordEmbeddings?: boolean;
}

/** One pre-norm block. */
export class DecoderLayer extends Module {
  input_layernorm: RMSNorm;
  self_attn: GroupedQueryAttention;
  post_attention_layernorm: RMSNorm;
  mlp: SwiGLUMLP;

  constructor(attention: GroupedQueryAttention, intermediateSize: number, eps: number, opts: FactoryOptions) {
    super();
    const d = attention.hiddenSize;
    this.input_layernorm = new RMSNorm(d, { ...opts, eps });
    this.self_attn = attention;
    this.post_attention_layernorm = new RMSNorm(d, { ...opts, eps });
    this.mlp = new SwiGLUMLP(d, intermediateSize, opts);
  }
}

export interface DecoderForwardOptions {
  /** Caches from {@link DecoderLM.createCache}; new tokens continue at position cache.length. */
  cache?: LayerCaches | null;
  /** [B, S] over all tokens seen (cached + new): 1 = real, 0 = padding. */
  attentionMask?: Tensor | null;
  /** RoPE positions of the new tokens, [L] or [B, L]. */
  positionIds?: Tensor | readonly number[] | null;
}

/** Decoder-only LM: int32 token ids [B, T] → logits [B, T, vocab]. */
export class DecoderLM extends Module {
  embed_tokens: Embedding;
  layers: ModuleList;
  norm: RMSNorm;
  lm_head: Linear;
  readonly vocabSize: number;
  readonly claSharingFactor: number;

  constructor(opts: DecoderLMOptions) {
    super();
    const { vocabSize, hiddenSize: d, numLayers, rmsNormEps = 1e-6, claSharingFactor = 1 } = opts;
    for (const [k, v] of Object.entries({ vocabSize, hiddenSize: d, numLayers, claSharingFactor }))
      if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`DecoderLM: ${k} must be a positive integer, got ${v}`);
    this.vocabSize = vocabSize;
    this.claSharingFactor = claSharingFactor;
    const factory = { dtype: opts.dtype, device: opts.device, generator: opts.generator };
    const hidden = opts.intermediateSize ?? Math.ceil((8 * d) / 3 / 8) * 8;
    this.embed_tokens = new Embedding(vocabSize, d, factory);
    normal_(this.embed_tokens.weight, 0, 0.02, { generator: opts.generator });
    this.layers = new ModuleList(
      Array.from({ length: numLayers }, (_, l) => {
        const attn = new GroupedQueryAttention({ ...opts, hiddenSize: d, ownsKeyValues: l % claSharingFactor === 0 });
        return new DecoderLayer(attn, hidden, rmsNormEps, factory);
      }),
    );
    this.norm = new RMSNorm(d, { ...factory, eps: rmsNormEps });
    this.lm_head = new Linear(d, vocabSize, { ...factory, bias: false });
    if (opts.tieWordEmbeddings) this.lm_head.weight = this.embed_tokens.weight;
    else normal_(this.lm_head.weight, 0, 0.02, { generator: opts.generator });
  }

  /** The layer at index l. */
  layer(l: number): DecoderLayer {
    return this.layers.at(l) as DecoderLayer;
  }

  /** One cache per CLA block (per layer without CLA). */
  createCache(opts: { capacity?: number } = {}): LayerCaches {
    return new LayerCaches(this.layers.length, (b) => this.layer(b * this.claSharingFactor).self_attn.createCache(opts), this.claSharingFactor);
  }

  override forward(ids: Tensor, opts: DecoderForwardOptions = {}): Tensor {
    if (ids.dtype !== 'int32') throw new DTypeError(`DecoderLM: token ids must be int32, got ${ids.dtype}`);
    if (ids.ndim !== 2) throw new ShapeError(`DecoderLM: token ids must be [batch, tokens], got ${fmtShape(ids.shape)}`);
    let h = this.embed_tokens.forward(ids);
    let shared: CacheUpdate | null = null;
    for (let l = 0; l < this.layers.length; l++) {
      const layer = this.layer(l);
      const attn = layer.self_attn;
      const x = layer.input_layernorm.forward(h);
      const common = { attentionMask: opts.attentionMask, positionIds: opts.positionIds };
      let a: Tensor;
      if (attn.ownsKeyValues) {
        const r = attn.forwardWithKV(x, { ...common, cache: opts.cache?.forLayer(l) });
        [a, shared] = [r.output, r.kv];
      } else a = attn.forward(x, { ...common, sharedKV: shared });
      h = h.add(a);
      h = h.add(layer.mlp.forward(layer.post_attention_layernorm.forward(h)));
    }
    return this.lm_head.forward(this.norm.forward(h));
  }
}
