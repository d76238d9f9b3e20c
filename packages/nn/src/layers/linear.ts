/** Linear and Identity layers. */
import { ArgumentError, Tensor, zeros } from '@tessera/core';
import { linear } from '../functional.js';
import { kaimingUniform_, uniform_ } from '../init.js';
import { Module, Parameter } from '../module.js';
import { paramOpts, type FactoryOptions } from './options.js';

export interface LinearOptions extends FactoryOptions {
  /** Whether to learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x·Wᵀ + b with weight [outFeatures, inFeatures] and bias [outFeatures], initialized like PyTorch:
 * kaiming_uniform(a=√5) for the weight (U(±1/√in)) and U(±1/√in) for the bias.
 */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    for (const [k, v] of Object.entries({ inFeatures, outFeatures }))
      if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`Linear: ${k} must be a non-negative integer, got ${v}`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = Parameter(zeros([outFeatures, inFeatures], paramOpts(opts)));
    this.bias = opts.bias === false ? null : Parameter(zeros([outFeatures], paramOpts(opts)));
    this.resetParameters(opts);
  }

  /** Re-draws the parameters with PyTorch's default initialization. */
  resetParameters(opts: { generator?: FactoryOptions['generator'] } = {}): void {
    if (this.inFeatures === 0) return;
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator: opts.generator });
    const bound = 1 / Math.sqrt(this.inFeatures);
    if (this.bias) uniform_(this.bias, -bound, bound, { generator: opts.generator });
  }

  override forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input unchanged (a placeholder layer). */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}
