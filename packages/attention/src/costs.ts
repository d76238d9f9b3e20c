/**
 * The spec's cost formulas (§10 KV-cache elements, §11 FLOPs), per token per layer, forward only. A multiply-
 * accumulate counts 2 FLOPs; softmax/sigmoid element-wise work is ≈5 FLOPs per logit, RoPE ≈3·D per rotated vector.
 * Modules report their own numbers through these, and the decode bench prints them beside measured cache sizes.
 */

/** Shape of a self-attention layer for the cost formulas. */
export interface AttentionCostShape {
  /** Model width d. */
  hiddenSize: number;
  /** Query heads (H, or H_q for SQA). */
  numHeads: number;
  /** Key/value heads H_kv. */
  numKvHeads: number;
  /** Query/key head dim d_h. */
  headDim: number;
  /** Value head dim d_v (defaults to d_h). */
  valueHeadDim?: number;
}

/** FLOPs split as in the spec's table. */
export interface FlopCount {
  /** Q, K, V and output projections. */
  projections: number;
  /** Scores and weighted sum (∝ S). */
  attention: number;
  /** Softmax / sigmoid element-wise work (≈5 per logit). */
  elementwise: number;
  /** RoPE on q and k (≈3·D per rotated vector). */
  rope: number;
  total: number;
}

/** KV-cache elements per token per layer for MHA/GQA/MQA/SQA: H_kv·(d_h + d_v) = 2·H_kv·d_h (spec §10). */
export function kvCacheElementsPerToken(shape: Pick<AttentionCostShape, 'numKvHeads' | 'headDim' | 'valueHeadDim'>): number {
  return shape.numKvHeads * (shape.headDim + (shape.valueHeadDim ?? shape.headDim));
}

/** CLA with sharing factor s, averaged over layers: 2·H_kv·d_h / s (spec §9.2, §10). */
export function claKvCacheElementsPerToken(shape: Pick<AttentionCostShape, 'numKvHeads' | 'headDim' | 'valueHeadDim'>, sharingFactor: number): number {
  return kvCacheElementsPerToken(shape) / sharingFactor;
}

/** Sliding window W: the per-token size of the base, but at most W tokens are kept (spec §9.5). */
export function slidingWindowCacheElements(shape: Pick<AttentionCostShape, 'numKvHeads' | 'headDim' | 'valueHeadDim'>, window: number, tokens: number): number {
  return kvCacheElementsPerToken(shape) * Math.min(window, tokens);
}

/**
 * Forward FLOPs per query token of a self-attention layer attending to S keys (spec §11, GQA/MQA/SQA row; MHA is
 * H_kv = H): 2·d·H·d_h (Q) + 2·d·H_kv·(d_h + d_v) (K, V) + 2·H·d_v·d (O); attention 2·H·(d_h + d_v)·S; ≈5·H·S
 * element-wise; RoPE 3·d_h·(H + H_kv) when `rotaryDim` is given (pass the rotated width).
 * `ownsKeyValues: false` (a CLA consumer layer) drops the K/V projections.
 */
export function attentionFlopsPerToken(shape: AttentionCostShape, S: number, opts: { rotaryDim?: number; ownsKeyValues?: boolean } = {}): FlopCount {
  const { hiddenSize: d, numHeads: H, numKvHeads: Hkv, headDim: dh } = shape;
  const dv = shape.valueHeadDim ?? dh;
  const kv = opts.ownsKeyValues === false ? 0 : 2 * d * Hkv * (dh + dv);
  const projections = 2 * d * H * dh + kv + 2 * H * dv * d;
  const attention = 2 * H * (dh + dv) * S;
  const elementwise = 5 * H * S;
  const rope = opts.rotaryDim ? 3 * opts.rotaryDim * (H + (opts.ownsKeyValues === false ? 0 : Hkv)) : 0;
  return { projections, attention, elementwise, rope, total: projections + attention + elementwise + rope };
}

/** Shape of a cross-attention layer for the cost formulas (spec §5.1). */
export interface CrossAttentionCostShape {
  queryDim: number;
  sourceDim: number;
  numHeads: number;
  headDim: number;
  valueHeadDim?: number;
  outDim?: number;
}

/**
 * Cross-attention FLOPs (spec §5.1, §11): per query token 2·d_q·H·d_h + 2·H·(d_h + d_v)·S + 2·H·d_v·d_out (+≈5·H·S);
 * per source token, once, 2·d_kv·H·(d_h + d_v).
 */
export function crossAttentionFlops(shape: CrossAttentionCostShape, S: number): { perQueryToken: FlopCount; perSourceToken: number } {
  const { queryDim: dq, sourceDim: dkv, numHeads: H, headDim: dh } = shape;
  const dv = shape.valueHeadDim ?? dh;
  const dout = shape.outDim ?? dq;
  const projections = 2 * dq * H * dh + 2 * H * dv * dout;
  const attention = 2 * H * (dh + dv) * S;
  const elementwise = 5 * H * S;
  return {
    perQueryToken: { projections, attention, elementwise, rope: 0, total: projections + attention + elementwise },
    perSourceToken: 2 * dkv * H * (dh + dv),
  };
}
