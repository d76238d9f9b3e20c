/**
 * Turning a trained MHA/GQA attention layer into MoH for continued training (the MoH paper continue-tunes LLaMA3-8B
 * this way, §4.4). The projections are copied unchanged; the routers start small (or exactly uniform), so the shared
 * and selected heads begin with gates ≈ 1 (exactly 1 with a zero router): with routedTopK = h − h_s the converted layer
 * reproduces the source exactly, and with fewer routed heads it starts as the source with the unselected heads dropped.
 */
import { ArgumentError, noGrad } from '@tessera/core';
import type { FactoryOptions } from '@tessera/nn';
import type { GroupedQueryAttention } from '../grouped.js';
import { MixtureOfHeadsAttention } from './attention.js';
import type { MoHFormulation } from './routing.js';

/** Options of {@link convertToMixtureOfHeads}: the MoH head split and router initialisation. */
export interface ConvertToMoHOptions extends FactoryOptions {
  /** Shared heads h_s (default h/2, rounded down). */
  sharedHeads?: number;
  /** Routed heads per token K (default: half of the routed heads, rounded up). */
  routedTopK?: number;
  /** Or: the fraction of heads active per token (see mohHeadsFromRatio). */
  activationRatio?: number;
  sharedFraction?: number;
  /** Std of the new routers (default 0.02; 0 = uniform router, ties broken by head order). */
  routerStd?: number;
  formulation?: MoHFormulation;
}

/**
 * A MixtureOfHeadsAttention with the source's dims, RoPE, causality and weights (q/k/v/o projections), plus fresh
 * routers. Sliding-window, sigmoid and CLA-consumer sources are not supported (MoH here is softmax attention over all
 * cached keys).
 */
export function convertToMixtureOfHeads(source: GroupedQueryAttention, opts: ConvertToMoHOptions = {}): MixtureOfHeadsAttention {
  if (source.slidingWindow !== null || source.scoreFunction !== 'softmax' || !source.ownsKeyValues)
    throw new ArgumentError('convertToMixtureOfHeads: the source must be full softmax self-attention with its own K/V projections (no sliding window, sigmoid or CLA consumer)');
  const w = source.q_proj.weight;
  const moh = new MixtureOfHeadsAttention({
    hiddenSize: source.hiddenSize,
    numHeads: source.numHeads,
    numKvHeads: source.numKvHeads,
    headDim: source.headDim,
    bias: source.q_proj.bias !== null,
    outputBias: source.o_proj.bias !== null,
    causal: source.causal,
    rope: source.rotary ? { theta: source.rotary.theta, convention: source.rotary.convention, rotaryDim: source.rotary.rotaryDim } : null,
    sharedHeads: opts.sharedHeads,
    routedTopK: opts.routedTopK,
    activationRatio: opts.activationRatio,
    sharedFraction: opts.sharedFraction,
    routerStd: opts.routerStd,
    formulation: opts.formulation,
    dtype: opts.dtype ?? w.dtype,
    device: opts.device ?? w.device,
    generator: opts.generator,
  });
  noGrad(() => {
    for (const name of ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const) {
      const [src, dst] = [source[name]!, moh[name]];
      dst.weight.copy_(src.weight);
      if (src.bias && dst.bias) dst.bias.copy_(src.bias);
    }
  });
  return moh;
}
