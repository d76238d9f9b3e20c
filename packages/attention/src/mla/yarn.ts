/**
 * RoPE for MLA's decoupled rotary channels with DeepSeek's YaRN long-context extension (spec §7.6): the frequency
 * interpolation between the original and the factor-scaled frequencies (beta_fast / beta_slow correction range), the
 * softmax-scale factor mscale² and Hugging Face's cos/sin attention factor.
 *
 * This is a private rotation with explicit inverse frequencies because the shared `applyRope` takes only a base θ.
 * (To unify later: give `applyRope` an `inverseFrequencies` option and call it from here.)
 */
import { ArgumentError, cat, DTypeError, isFloat, stack, tensor, Tensor } from '@tessera/core';
import type { RopeConvention } from '../rope.js';

/** YaRN settings (Hugging Face `rope_scaling` with type "yarn"; DeepSeek's ModelArgs). */
export interface YarnScaling {
  /** Context extension factor s (DeepSeek-V2/V3: 40). */
  factor: number;
  /** Pre-extension context length (4096 for DeepSeek). */
  originalMaxPositionEmbeddings: number;
  /** Correction range in rotations (default 32 and 1). */
  betaFast?: number;
  betaSlow?: number;
  /** m of the cos/sin magnitude factor (default 1). */
  mscale?: number;
  /** m of the softmax-scale factor; 0 = no softmax correction (Hugging Face's default; V2 configs 0.707, V3 1.0). */
  mscaleAllDim?: number;
}

/** 0.1·m·ln(s) + 1 for s > 1, else 1 (DeepSeek / Hugging Face `yarn_get_mscale`). */
export function yarnGetMscale(scale: number, m = 1): number {
  return scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1;
}

/** The softmax-scale multiplier mscale² of a YaRN configuration (1 without one, or when mscaleAllDim is 0). */
export function yarnSoftmaxFactor(scaling: YarnScaling | null | undefined): number {
  if (!scaling || !scaling.mscaleAllDim) return 1;
  const m = yarnGetMscale(scaling.factor, scaling.mscaleAllDim);
  return m * m;
}

/**
 * Inverse frequencies ω_i = base^{−2i/D} (i < D/2), YaRN-interpolated when `scaling` is given: frequencies below the
 * correction range are divided by the factor, those above kept, with a linear ramp in between.
 */
export function yarnInverseFrequencies(dim: number, base: number, scaling?: YarnScaling | null): number[] {
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0) throw new ArgumentError(`yarnInverseFrequencies: dim must be a positive even integer, got ${dim}`);
  const freqs = Array.from({ length: dim / 2 }, (_, i) => base ** ((-2 * i) / dim));
  if (!scaling) return freqs;
  const { factor, originalMaxPositionEmbeddings: orig, betaFast = 32, betaSlow = 1 } = scaling;
  if (!(factor >= 1) || !(orig > 0)) throw new ArgumentError(`yarnInverseFrequencies: need factor ≥ 1 and originalMaxPositionEmbeddings > 0, got ${factor}, ${orig}`);
  const correctionDim = (rotations: number) => (dim * Math.log(orig / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
  const low = Math.max(Math.floor(correctionDim(betaFast)), 0);
  let high = Math.min(Math.ceil(correctionDim(betaSlow)), dim - 1);
  if (low === high) high += 0.001;
  return freqs.map((f, i) => {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const keep = 1 - ramp; // 1 → original frequency, 0 → interpolated
    return (f / factor) * (1 - keep) + f * keep;
  });
}

/**
 * Cos/sin magnitude factor Hugging Face applies with YaRN: mscale(s, mscale) / mscale(s, mscaleAllDim) when both are
 * set (1 for DeepSeek's configs, where they are equal), mscale(s, 1) otherwise. DeepSeek's reference applies none.
 */
export function yarnAttentionFactor(scaling: YarnScaling | null | undefined): number {
  if (!scaling) return 1;
  if (scaling.mscale && scaling.mscaleAllDim) return yarnGetMscale(scaling.factor, scaling.mscale) / yarnGetMscale(scaling.factor, scaling.mscaleAllDim);
  return yarnGetMscale(scaling.factor);
}

/**
 * Rotates x [..., T, D] by positions with explicit inverse frequencies. `positions`: the first row's position (rows
 * get offset, offset+1, …) or a tensor broadcastable to x.shape[:-1]. `factor` scales cos and sin.
 */
export function rotateWithFrequencies(x: Tensor, positions: number | Tensor, invFreq: readonly number[], convention: RopeConvention, factor = 1): Tensor {
  if (!isFloat(x.dtype)) throw new DTypeError(`rope: expected a floating-point input, got ${x.dtype}`);
  const D = x.shape.at(-1)!;
  if (invFreq.length * 2 !== D) throw new ArgumentError(`rope: ${invFreq.length} frequencies need ${2 * invFreq.length} features, got ${D}`);
  const dt = x.backend.capabilities.dtypes.includes('float64') ? 'float64' : 'float32';
  const rows = x.ndim >= 2 ? x.shape.at(-2)! : 1;
  const pos = typeof positions === 'number' ? tensor(Float64Array.from({ length: rows }, (_, i) => positions + i), { dtype: dt, device: x.device }) : positions.to(dt);
  const angles = pos.unsqueeze(-1).mul(tensor(Float64Array.from(invFreq), { dtype: dt, device: x.device }));
  const cos = angles.cos().mul(factor).to(x.dtype);
  const sin = angles.sin().mul(factor).to(x.dtype);
  const h = D / 2;
  if (convention === 'half') {
    const [a, b] = [x.narrow(-1, 0, h), x.narrow(-1, h, h)];
    return cat([a.mul(cos).sub(b.mul(sin)), b.mul(cos).add(a.mul(sin))], -1);
  }
  const pairs = x.unflatten(-1, [h, 2]);
  const [a, b] = [pairs.select(-1, 0), pairs.select(-1, 1)];
  return stack([a.mul(cos).sub(b.mul(sin)), a.mul(sin).add(b.mul(cos))], -1).flatten(-2);
}
