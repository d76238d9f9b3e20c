/** Module forms of the losses (torch.nn.CrossEntropyLoss and friends): options fixed at construction. */
import type { Tensor } from '@tessera/core';
import {
  binaryCrossEntropyWithLogits, crossEntropy, l1Loss, mseLoss, nllLoss,
  type BCEWithLogitsOptions, type CrossEntropyOptions, type ElementwiseLossOptions, type NLLLossOptions,
} from '../losses.js';
import { Module } from '../module.js';

const describe = (o: object) =>
  Object.entries(o)
    .filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? `'${v}'` : v}`)
    .join(', ');

/** Class weights are registered as buffers (moved by `to`, saved in the state dict), as in PyTorch. */
export class CrossEntropyLoss extends Module {
  declare weight: Tensor | null;
  constructor(readonly options: CrossEntropyOptions = {}) {
    super();
    this.registerBuffer('weight', options.weight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, { ...this.options, weight: this.weight });
  }
  override extraRepr(): string {
    return describe(this.options);
  }
}

export class NLLLoss extends Module {
  declare weight: Tensor | null;
  constructor(readonly options: NLLLossOptions = {}) {
    super();
    this.registerBuffer('weight', options.weight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { ...this.options, weight: this.weight });
  }
  override extraRepr(): string {
    return describe(this.options);
  }
}

export class MSELoss extends Module {
  constructor(readonly options: ElementwiseLossOptions = {}) {
    super();
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.options);
  }
  override extraRepr(): string {
    return describe(this.options);
  }
}

export class L1Loss extends Module {
  constructor(readonly options: ElementwiseLossOptions = {}) {
    super();
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, this.options);
  }
  override extraRepr(): string {
    return describe(this.options);
  }
}

export class BCEWithLogitsLoss extends Module {
  declare weight: Tensor | null;
  declare posWeight: Tensor | null;
  constructor(readonly options: BCEWithLogitsOptions = {}) {
    super();
    this.registerBuffer('weight', options.weight ?? null);
    this.registerBuffer('posWeight', options.posWeight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, { ...this.options, weight: this.weight, posWeight: this.posWeight });
  }
  override extraRepr(): string {
    return describe(this.options);
  }
}
