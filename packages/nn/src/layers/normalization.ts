/** LayerNorm and RMSNorm over the trailing dims, built on core's fused layerNorm/rmsNorm. */
import { ArgumentError, layerNorm, ones, rmsNorm, Tensor, zeros } from '@tessera/core';
import { Module, Parameter } from '../module.js';
import { paramOpts, type FactoryOptions } from './options.js';

const asShape = (op: string, s: number | readonly number[]): number[] => {
  const shape = typeof s === 'number' ? [s] : [...s];
  if (!shape.length || shape.some((d) => !Number.isInteger(d) || d < 1))
    throw new ArgumentError(`${op}: normalizedShape must be positive integers, got [${shape.join(', ')}]`);
  return shape;
};

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** Learn a per-element weight (ones) and bias (zeros); default true. */
  elementwiseAffine?: boolean;
  /** Learn the bias when elementwiseAffine (default true). */
  bias?: boolean;
}

/** (x − mean) / √(var + eps) · weight + bias over the last normalizedShape dims. */
export class LayerNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly normalizedShape: readonly number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = asShape('LayerNorm', normalizedShape);
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? Parameter(ones(this.normalizedShape, paramOpts(opts))) : null;
    this.bias = affine && opts.bias !== false ? Parameter(zeros(this.normalizedShape, paramOpts(opts))) : null;
  }
  override forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.weight !== null}`;
  }
}

export interface RMSNormOptions extends FactoryOptions {
  /** Added to the mean square; defaults to the input dtype's machine epsilon, like PyTorch. */
  eps?: number | null;
  /** Learn a per-element weight (ones); default true. */
  elementwiseAffine?: boolean;
}

/** x / √(mean(x²) + eps) · weight over the last normalizedShape dims (torch.nn.RMSNorm). */
export class RMSNorm extends Module {
  weight: Tensor | null;
  readonly normalizedShape: readonly number[];
  readonly eps: number | null;

  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super();
    this.normalizedShape = asShape('RMSNorm', normalizedShape);
    this.eps = opts.eps ?? null;
    this.weight = (opts.elementwiseAffine ?? true) ? Parameter(ones(this.normalizedShape, paramOpts(opts))) : null;
  }
  override forward(x: Tensor): Tensor {
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps ?? undefined);
  }
  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.weight !== null}`;
  }
}
