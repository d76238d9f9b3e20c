/** Feed-forward blocks: a two-layer MLP and the SwiGLU MLP used by LLaMA-style transformers. */
import type { Tensor } from '@tessera/core';
import { Module } from '../module.js';
import { activationFromName, Dropout, type ActivationName } from './activation.js';
import { Linear } from './linear.js';
import type { FactoryOptions } from './options.js';

export interface MLPOptions extends FactoryOptions {
  /** Output width; defaults to inFeatures. */
  outFeatures?: number;
  /** Activation between the layers, by name or as a module (default 'gelu'). */
  activation?: ActivationName | Module;
  bias?: boolean;
  /** Dropout probability after the activation and after the output layer (default 0: no dropout layers). */
  dropout?: number;
}

/** fc2(drop(act(fc1(x)))) with fc1: in → hidden and fc2: hidden → out. */
export class MLP extends Module {
  fc1: Linear;
  act: Module;
  drop: Dropout | null;
  fc2: Linear;

  constructor(inFeatures: number, hiddenFeatures: number, opts: MLPOptions = {}) {
    super();
    const { activation = 'gelu', dropout = 0 } = opts;
    this.fc1 = new Linear(inFeatures, hiddenFeatures, opts);
    this.act = typeof activation === 'string' ? activationFromName(activation) : activation;
    this.drop = dropout > 0 ? new Dropout(dropout, opts) : null;
    this.fc2 = new Linear(hiddenFeatures, opts.outFeatures ?? inFeatures, opts);
  }
  override forward(x: Tensor): Tensor {
    let h = (this.act as Module & { forward(t: Tensor): Tensor }).forward(this.fc1.forward(x));
    if (this.drop) h = this.drop.forward(h);
    const y = this.fc2.forward(h);
    return this.drop ? this.drop.forward(y) : y;
  }
}

export interface SwiGLUOptions extends FactoryOptions {
  /** Output width; defaults to dim. */
  outFeatures?: number;
  /** Biases on the three projections (default false, as in LLaMA). */
  bias?: boolean;
}

/** down_proj(silu(gate_proj(x)) · up_proj(x)): the gated feed-forward block of LLaMA/PaLM; names as in Hugging Face checkpoints. */
export class SwiGLUMLP extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;

  constructor(dim: number, hiddenDim: number, opts: SwiGLUOptions = {}) {
    super();
    const lin = { ...opts, bias: opts.bias ?? false };
    this.gate_proj = new Linear(dim, hiddenDim, lin);
    this.up_proj = new Linear(dim, hiddenDim, lin);
    this.down_proj = new Linear(hiddenDim, opts.outFeatures ?? dim, lin);
  }
  override forward(x: Tensor): Tensor {
    return this.down_proj.forward(this.gate_proj.forward(x).silu().mul(this.up_proj.forward(x)));
  }
}
