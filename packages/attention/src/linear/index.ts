/** Linear attention with per-head decay (Lightning Attention; spec §9.4): three equivalent forms and the TNL block. */
export {
  lightningSlopes, linearAttention, linearAttentionQuadratic, linearAttentionRecurrent, linearAttentionChunked,
  type DecaySlopes, type LinearAttentionResult, type LinearAttentionOptions, type ChunkedLinearAttentionOptions, type LinearAttentionForm,
} from './functional.js';
export { LightningAttention, type LightningAttentionOptions, type LightningForwardOptions } from './lightning.js';
