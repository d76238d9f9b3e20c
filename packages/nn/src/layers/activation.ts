/** Activation layers and Dropout: parameter-free modules wrapping core's functional ops. */
import { ArgumentError, type Generator, Tensor } from '@tessera/core';
import { dropout } from '../functional.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** GELU, exact (erf) by default or with the tanh approximation. */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
    if (approximate !== 'none' && approximate !== 'tanh') throw new ArgumentError(`GELU: approximate must be 'none' or 'tanh', got '${approximate}'`);
  }
  override forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** x·sigmoid(x), also called swish. */
export class SiLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** max(0, x) + negativeSlope·min(0, x). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** log(1 + exp(beta·x)) / beta, linear above threshold. */
export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return x.softplus(this.beta, this.threshold);
  }
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

export interface DropoutLayerOptions {
  /** Source of the masks; the default generator otherwise. Seed it for reproducible training. */
  generator?: Generator;
}

/** Zeroes elements with probability p in training mode (scaling the rest by 1/(1−p)); the identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;
  readonly generator: Generator | undefined;
  constructor(p = 0.5, opts: DropoutLayerOptions = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ArgumentError(`Dropout: probability must be within [0, 1], got ${p}`);
    this.p = p;
    this.generator = opts.generator;
  }
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, { generator: this.generator });
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Activation names accepted where a layer takes an activation by name. */
export type ActivationName = 'relu' | 'gelu' | 'geluTanh' | 'silu' | 'tanh' | 'sigmoid' | 'leakyRelu' | 'softplus';

/** A fresh activation module from its name. */
export function activationFromName(name: ActivationName): Module {
  switch (name) {
    case 'relu': return new ReLU();
    case 'gelu': return new GELU();
    case 'geluTanh': return new GELU('tanh');
    case 'silu': return new SiLU();
    case 'tanh': return new Tanh();
    case 'sigmoid': return new Sigmoid();
    case 'leakyRelu': return new LeakyReLU();
    case 'softplus': return new Softplus();
    default: throw new ArgumentError(`unknown activation '${String(name)}' (expected relu, gelu, geluTanh, silu, tanh, sigmoid, leakyRelu or softplus)`);
  }
}
