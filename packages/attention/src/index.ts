/**
 * @tessera/attention — attention for Tessera with PyTorch / Hugging Face semantics and parameter names:
 * scaled dot-product attention (masks, causal alignments, dropout, GQA; fused backend kernel when available), RoPE,
 * KV caches and generation, nn.MultiheadAttention, LLaMA-style grouped-query attention and its configurations
 * (MQA, sliding window, sigmoid, Sparse Query, Cross-Layer), cross-attention and CrossViT fusion.
 * Follows the attention spec, sections 1–5 and 9–13.
 */

/** Functional attention: softmax SDPA with PyTorch's semantics, and sigmoid attention. */
export {
  scaledDotProductAttention, sigmoidAttention,
  type ScaledDotProductAttentionOptions, type SigmoidAttentionOptions as SigmoidAttentionFunctionOptions,
} from './sdpa.js';

/** Masks: causal (top-left / bottom-right, sliding window), position-based, padding, polarity conversions. */
export {
  causalMask, positionMask, toAdditiveMask, combineMasks, fromBlockedPolarity, paddingToKeyMask,
  type CausalAlignment, type CausalMaskOptions, type PositionMaskOptions,
} from './masks.js';

/** Rotary position embedding, rotate-half (NeoX) and interleaved (GPT-J) conventions, partial rotary dims. */
export {
  applyRope, ropeCosSin, ropeInverseFrequencies, interleavedToHalfPermutation, RotaryEmbedding,
  type RopeConvention, type RopeOptions, type RopePositions,
} from './rope.js';

/** KV caches: growing, rolling sliding-window, static (cross-attention), and per-layer/per-CLA-block collections. */
export { KVCache, SlidingWindowKVCache, StaticKVCache, LayerCaches, type AttentionCache, type CacheUpdate } from './kv-cache.js';

/** Head split/merge and Linear initialisation shared by the modules. */
export { splitHeads, mergeHeads, makeLinear, type LinearInit } from './heads.js';

/** torch.nn.MultiheadAttention. */
export { MultiheadAttention, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions } from './multihead.js';

/** LLaMA-style grouped-query self-attention (MHA / GQA / MQA) and its configurations. */
export { GroupedQueryAttention, type GroupedQueryAttentionOptions, type AttentionForwardOptions, type AttentionWithKV } from './grouped.js';
export {
  MultiQueryAttention, SparseQueryAttention, SlidingWindowAttention, SigmoidAttention, crossLayerAttentionLayers, stackCacheElementsPerToken,
  type SparseQueryAttentionOptions, type SigmoidAttentionOptions,
} from './variants.js';

/** MHA → GQA/MQA checkpoint conversion by mean-pooling contiguous head groups. */
export { meanPoolHeads, convertMhaToGqaStateDict, convertMhaToGqa, type ConvertToGqaOptions } from './convert.js';

/** Cross-attention between sequences, and CrossViT's CLS-token fusion. */
export { CrossAttention, type CrossAttentionOptions, type CrossAttentionForwardOptions, type ProjectionNames } from './cross.js';
export { CrossViTFusion, CrossViTAttentionBlock, type CrossViTFusionOptions, type CrossViTAttentionBlockOptions } from './crossvit.js';

/** A small LLaMA-style decoder LM (host for caching, CLA and generation). */
export { DecoderLM, DecoderLayer, type DecoderLMOptions, type DecoderForwardOptions } from './decoder.js';

/** Sampling and autoregressive generation. */
export {
  generate, sampleNextToken, topKFilter, topPFilter,
  type GenerateOptions, type SamplingOptions, type CausalLanguageModel,
} from './generate.js';

/** The spec's cost formulas: KV-cache elements and FLOPs per token. */
export {
  kvCacheElementsPerToken, claKvCacheElementsPerToken, slidingWindowCacheElements, attentionFlopsPerToken, crossAttentionFlops,
  type AttentionCostShape, type CrossAttentionCostShape, type FlopCount,
} from './costs.js';

/** MoH — Mixture-of-Head attention: routing, balance loss, head-usage statistics, MHA/GQA → MoH conversion (spec §6). */
export * from './moh/index.js';

/** MLA — DeepSeek's Multi-head Latent Attention: naive and absorbed paths, compressed cache, YaRN scale (spec §7). */
export * from './mla/index.js';

/** Titans — neural long-term memory, persistent memory and the MAC / MAG / MAL layers (spec §8). */
export * from './titans/index.js';

/** Linear attention with decay (Lightning; spec §9.4): quadratic, recurrent and chunked forms, and the TNL block. */
export * from './linear/index.js';
