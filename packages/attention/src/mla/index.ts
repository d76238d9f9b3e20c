/** Multi-head Latent Attention (DeepSeek-V2/V3; spec §7): naive and absorbed paths, the compressed cache, YaRN. */
export {
  MultiHeadLatentAttention, DEEPSEEK_V2_MLA, DEEPSEEK_V2_LITE_MLA, DEEPSEEK_V3_MLA, mlaCacheElementsPerToken, mlaNaiveCacheElementsPerToken,
  mlaFlopsPerToken, type MLAShape, type MultiHeadLatentAttentionOptions, type MLAForwardOptions, type MLAImpl,
} from './attention.js';
export { MLACache, type LatentCacheUpdate } from './cache.js';
export { yarnGetMscale, yarnSoftmaxFactor, yarnInverseFrequencies, yarnAttentionFactor, rotateWithFrequencies, type YarnScaling } from './yarn.js';
