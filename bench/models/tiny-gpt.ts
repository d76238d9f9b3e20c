/**
 * The benchmark's tiny GPT in Tessera (@tessera/nn modules, @tessera/attention's SDPA): token + learned position
 * embeddings, pre-LayerNorm blocks (LN → causal self-attention → residual, LN → 4× MLP with tanh-GELU → residual),
 * a final LayerNorm and an untied, bias-free output head. pytorch_bench.py builds the same model in torch.
 */
import { arange, type Tensor } from '@tessera/core';
import { scaledDotProductAttention } from '@tessera/attention';
import { Embedding, LayerNorm, Linear, MLP, Module, ModuleList, type FactoryOptions } from '@tessera/nn';
import type { TINY_GPT } from '../cases/gpt.js';

type Config = typeof TINY_GPT;

class SelfAttention extends Module {
  qkv: Linear;
  proj: Linear;
  constructor(
    d: number,
    readonly heads: number,
    f: FactoryOptions,
  ) {
    super();
    this.qkv = new Linear(d, 3 * d, f);
    this.proj = new Linear(d, d, f);
  }
  override forward(x: Tensor): Tensor {
    const [B, T, d] = x.shape as [number, number, number];
    // [B, T, 3d] → [3, B, heads, T, d/heads]
    const qkv = this.qkv.forward(x).reshape([B, T, 3, this.heads, d / this.heads]).permute([2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((i) => qkv.select(0, i)) as [Tensor, Tensor, Tensor];
    const y = scaledDotProductAttention(q, k, v, { isCausal: true });
    return this.proj.forward(y.transpose(1, 2).reshape([B, T, d]));
  }
}

class Block extends Module {
  ln1: LayerNorm;
  attn: SelfAttention;
  ln2: LayerNorm;
  mlp: MLP;
  constructor(c: Config, f: FactoryOptions) {
    super();
    this.ln1 = new LayerNorm(c.dModel, f);
    this.attn = new SelfAttention(c.dModel, c.heads, f);
    this.ln2 = new LayerNorm(c.dModel, f);
    this.mlp = new MLP(c.dModel, c.mlpRatio * c.dModel, { ...f, activation: 'geluTanh' });
  }
  override forward(h: Tensor): Tensor {
    h = h.add(this.attn.forward(this.ln1.forward(h)));
    return h.add(this.mlp.forward(this.ln2.forward(h)));
  }
}

export class TinyGPT extends Module {
  tok_emb: Embedding;
  pos_emb: Embedding;
  blocks: ModuleList;
  ln_f: LayerNorm;
  head: Linear;
  constructor(c: Config, f: FactoryOptions = {}) {
    super();
    this.tok_emb = new Embedding(c.vocab, c.dModel, f);
    this.pos_emb = new Embedding(c.context, c.dModel, f);
    this.blocks = new ModuleList(Array.from({ length: c.layers }, () => new Block(c, f)));
    this.ln_f = new LayerNorm(c.dModel, f);
    this.head = new Linear(c.dModel, c.vocab, { ...f, bias: false });
  }
  /** Token ids int32 [B, T] → logits [B, T, vocab]. */
  override forward(ids: Tensor): Tensor {
    let h = this.tok_emb.forward(ids).add(this.pos_emb.forward(arange(ids.shape[1]!, undefined, 1, { device: ids.device })));
    for (const block of this.blocks as Iterable<Module>) h = (block as Block).forward(h);
    return this.head.forward(this.ln_f.forward(h));
  }
}
