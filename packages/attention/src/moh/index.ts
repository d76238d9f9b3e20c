/** MoH — Mixture-of-Head attention (spec §6): routing, the module, the auxiliary loss and MHA/GQA → MoH conversion. */
export {
  mohRoute, mohRouterLayout, mohHeadsFromRatio,
  type MoHFormulation, type MoHHeadCounts, type MoHRouterWeights, type MoHRouting,
} from './routing.js';
export {
  MixtureOfHeadsAttention, mohAuxiliaryLoss, resetRouters,
  type MixtureOfHeadsAttentionOptions, type MoHForwardOptions,
} from './attention.js';
export { convertToMixtureOfHeads, type ConvertToMoHOptions } from './convert.js';
