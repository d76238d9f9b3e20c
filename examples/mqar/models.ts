/**
 * The MQAR model: token embedding (+ learned positions, + token shift) → N pre-norm blocks (RMSNorm → mixer →
 * residual, RMSNorm → SwiGLU MLP → residual) → RMSNorm → linear head, read only at the query positions.
 *
 * Token shift: each position also gets W·E[x_{t−1}], a learned projection of the previous token's embedding (a
 * kernel-2 causal convolution, like the short convolutions of Zoology's models). It hands the key to the position of
 * its value, so one mixer layer can do the lookup; without it the model must first grow a previous-token head, which
 * takes far more steps than this benchmark's budget (docs/mqar.md has the numbers). Every model gets it.
 *
 * Every model gets the same embeddings, widths and depth; what differs is the sequence mixer. To compare at equal
 * parameter budgets, each model's MLP width is solved so its total matches the MHA model with a 4·d-wide MLP
 * (the mixers' own sizes differ: Titans' neural memory is larger than a plain attention layer, GQA/MLA smaller).
 * All Linears of the mixers use PyTorch's default initialisation (Hugging Face's N(0, 0.02²) for the attention
 * modules makes the scores so flat at d = 64 that recall is learned several times slower).
 */
import * as attention from '@tessera/attention';
import { arange, cat, tensor, zeros, type Tensor } from '@tessera/core';
import { Embedding, Linear, Module, ModuleList, normal_, RMSNorm, SwiGLUMLP, type FactoryOptions } from '@tessera/nn';

/** Widths shared by every model. */
export interface ModelShape {
  vocabSize: number;
  /** Longest sequence (size of the position table). */
  maxLen: number;
  dim: number;
  layers: number;
  heads: number;
  /** Add a projection of the previous token's embedding to each position (see above). */
  tokenShift: boolean;
}

/** Decode-time memory of one model in float32 elements: what grows per token, and what is kept regardless of T. */
export interface CacheCost {
  perToken: number;
  fixed: number;
}

interface MixerSpec {
  summary: string;
  build(s: ModelShape, layer: number, f: FactoryOptions): Module;
  /** Cache of one layer (elements). */
  cache(m: Module): CacheCost;
  /** An auxiliary loss to add to the task loss (MoH's head-balance loss). */
  auxLoss?(model: Module): Tensor | null;
}

/**
 * Segment length of Titans-MAC: the shortest benchmark length, so a 64-token sequence is one attention window and
 * longer ones can only recall pairs from earlier segments through the neural memory.
 */
export const TITANS_SEGMENT = 64;

const headDim = (s: ModelShape) => s.dim / s.heads;
const perToken = (n: number): CacheCost => ({ perToken: n, fixed: 0 });

/** The mixers, in table order. */
export const MIXERS: Record<string, MixerSpec> = {
  mha: {
    summary: 'multi-head attention (H_kv = H, RoPE)',
    build: (s, _l, f) => new attention.GroupedQueryAttention({ ...f, init: 'default', hiddenSize: s.dim, numHeads: s.heads }),
    cache: (m) => perToken((m as attention.GroupedQueryAttention).kvCacheElementsPerToken()),
  },
  gqa: {
    summary: 'grouped-query attention (H_kv = H/2, RoPE)',
    build: (s, _l, f) => new attention.GroupedQueryAttention({ ...f, init: 'default', hiddenSize: s.dim, numHeads: s.heads, numKvHeads: Math.max(1, s.heads / 2) }),
    cache: (m) => perToken((m as attention.GroupedQueryAttention).kvCacheElementsPerToken()),
  },
  moh: {
    summary: 'mixture-of-head attention (3/4 of the heads active per token, balance loss 0.01)',
    build: (s, _l, f) => new attention.MixtureOfHeadsAttention({ ...f, init: 'default', hiddenSize: s.dim, numHeads: s.heads, activationRatio: 0.75 }),
    cache: (m) => perToken((m as attention.MixtureOfHeadsAttention).kvCacheElementsPerToken()),
    auxLoss: (model) => attention.mohAuxiliaryLoss(model, { clear: true }),
  },
  mla: {
    summary: 'multi-head latent attention (latent d/2, rope dims d_h/2)',
    build: (s, _l, f) =>
      new attention.MultiHeadLatentAttention({
        ...f, init: 'default', hiddenSize: s.dim, numHeads: s.heads, qLoraRank: null, kvLoraRank: s.dim / 2,
        qkNopeHeadDim: headDim(s) / 2, qkRopeHeadDim: headDim(s) / 2, vHeadDim: headDim(s),
      }),
    cache: (m) => perToken((m as attention.MultiHeadLatentAttention).kvCacheElementsPerToken()),
  },
  'titans-mac': {
    summary: `Titans memory-as-context (segments of ${TITANS_SEGMENT}, neural memory chunks of 16)`,
    build: (s, _l, f) =>
      new attention.MemoryAsContext({ ...f, dim: s.dim, heads: s.heads, segmentLength: TITANS_SEGMENT, memory: { heads: s.heads, chunkSize: 16 } }),
    // Bounded: the current segment's retrieved and token K/V (2 × 2 × C × H·d_h) plus the memory's weights and momentum.
    cache: (m) => {
      const mac = m as attention.MemoryAsContext;
      return { perToken: 0, fixed: 4 * mac.segmentLength * mac.heads * mac.headDim + mac.memory.stateElements() };
    },
  },
  linear: {
    summary: 'Lightning linear attention with decay (TransNormerLLM block)',
    build: (s, l, f) => new attention.LightningAttention({ ...f, hiddenSize: s.dim, numHeads: s.heads, layerIndex: l, numLayers: s.layers }),
    cache: (m) => ({ perToken: 0, fixed: (m as attention.LightningAttention).stateElements() }),
  },
};

export const MIXER_NAMES = Object.keys(MIXERS);

class Block extends Module {
  norm1: RMSNorm;
  mixer: Module;
  norm2: RMSNorm;
  mlp: SwiGLUMLP;
  constructor(mixer: Module, dim: number, mlpHidden: number, f: FactoryOptions) {
    super();
    this.norm1 = new RMSNorm(dim, f);
    this.mixer = mixer;
    this.norm2 = new RMSNorm(dim, f);
    this.mlp = new SwiGLUMLP(dim, mlpHidden, f);
  }
  override forward(h: Tensor): Tensor {
    const a = h.add(this.mixer.forward(this.norm1.forward(h)) as Tensor);
    return a.add(this.mlp.forward(this.norm2.forward(a)));
  }
}

export class MQARModel extends Module {
  tok_emb: Embedding;
  shift_proj: Linear | null;
  pos_emb: Embedding;
  blocks: ModuleList;
  norm: RMSNorm;
  head: Linear;
  readonly mixerName: string;
  readonly mlpHidden: number;

  constructor(mixer: string, s: ModelShape, mlpHidden: number, f: FactoryOptions = {}) {
    super();
    const spec = MIXERS[mixer];
    if (!spec) throw new Error(`MQAR: unknown module '${mixer}' (known: ${MIXER_NAMES.join(', ')})`);
    this.mixerName = mixer;
    this.mlpHidden = mlpHidden;
    this.tok_emb = new Embedding(s.vocabSize, s.dim, f);
    this.shift_proj = s.tokenShift ? new Linear(s.dim, s.dim, { ...f, bias: false }) : null;
    this.pos_emb = new Embedding(s.maxLen, s.dim, f);
    for (const e of [this.tok_emb, this.pos_emb]) normal_(e.weight, 0, 0.02, { generator: f.generator });
    this.blocks = new ModuleList(Array.from({ length: s.layers }, (_, l) => new Block(spec.build(s, l, f), s.dim, mlpHidden, f)));
    this.norm = new RMSNorm(s.dim, f);
    this.head = new Linear(s.dim, s.vocabSize, { ...f, bias: false });
    normal_(this.head.weight, 0, 0.02, { generator: f.generator });
  }

  /** ids int32 [B, T] → logits [B·Q, vocab] at the flat positions `queryIndex` (row · T + position). */
  override forward(ids: Tensor, queryIndex: Tensor): Tensor {
    const [B, T] = ids.shape as [number, number];
    const e = this.tok_emb.forward(ids);
    let h = e.add(this.pos_emb.forward(arange(T, undefined, 1, { device: ids.device })));
    if (this.shift_proj) {
      // Token shift: position t also sees W·E[x_{t−1}] (zeros before the first token).
      const previous = cat([zeros([B, 1, e.shape[2]!], { device: ids.device }), e.narrow(1, 0, T - 1)], 1);
      h = h.add(this.shift_proj.forward(previous));
    }
    for (const block of this.blocks as Iterable<Module>) h = block.forward(h) as Tensor;
    const atQueries = h.reshape([B * T, -1]).indexSelect(0, queryIndex);
    return this.head.forward(this.norm.forward(atQueries));
  }

  /** The auxiliary loss of the mixer, if it has one (read once per training step). */
  auxLoss(): Tensor | null {
    return MIXERS[this.mixerName]!.auxLoss?.(this) ?? null;
  }

  /** Decode-time cache of the whole model, in float32 elements. */
  cacheCost(): CacheCost {
    const total: CacheCost = { perToken: 0, fixed: 0 };
    for (const block of this.blocks as Iterable<Module>) {
      const c = MIXERS[this.mixerName]!.cache((block as Block).mixer);
      total.perToken += c.perToken;
      total.fixed += c.fixed;
    }
    return total;
  }
}

/** Parameters of one mixer at this shape (built once on the side). */
function mixerParameters(mixer: string, s: ModelShape): number {
  const m = MIXERS[mixer]!.build(s, 0, {});
  const n = m.numParameters();
  for (const p of m.parameters()) p.dispose();
  return n;
}

/**
 * The MLP width that brings `mixer`'s model to the parameter count of the MHA model with a 4·d MLP
 * (SwiGLU: 3·d·hidden parameters per block; at least 8 wide).
 */
export function balancedMlpHidden(mixer: string, s: ModelShape): number {
  const reference = 4 * s.dim;
  const gap = s.layers * (mixerParameters('mha', s) - mixerParameters(mixer, s));
  return Math.max(8, Math.round(reference + gap / (3 * s.dim * s.layers)));
}

/** Builds the model for `mixer` at the balanced MLP width. */
export function buildModel(mixer: string, s: ModelShape, f: FactoryOptions = {}): MQARModel {
  if (!MIXERS[mixer]) throw new Error(`MQAR: unknown module '${mixer}' (known: ${MIXER_NAMES.join(', ')})`);
  return new MQARModel(mixer, s, balancedMlpHidden(mixer, s), f);
}

/** Index tensor helper for the query positions. */
export const indexTensor = (a: Int32Array, device?: string): Tensor => tensor(a, { dtype: 'int32', device });
