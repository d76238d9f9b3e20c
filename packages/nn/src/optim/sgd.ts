/** Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD). */
import { ArgumentError, keep, type Tensor } from '@tessera/core';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  /** L2 penalty added to the gradient. */
  weightDecay?: number;
  nesterov?: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize?: boolean;
}

export interface SGDGroup extends ParamGroup, Required<Omit<SGDOptions, 'lr'>> {}

/**
 * g ← ∇ + wd·θ; with momentum: b ← μ·b + (1 − dampening)·g (b = g at the first step), then g ← g + μ·b (Nesterov)
 * or g ← b; finally θ ← θ − lr·g. The same update as PyTorch's.
 */
export class SGD extends Optimizer<SGDGroup> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, opts: SGDOptions = {}) {
    super(params, { lr: opts.lr ?? 1e-3, momentum: opts.momentum ?? 0, dampening: opts.dampening ?? 0, weightDecay: opts.weightDecay ?? 0, nesterov: opts.nesterov ?? false, maximize: opts.maximize ?? false });
  }

  protected override validateGroup(g: SGDGroup): void {
    super.validateGroup(g);
    if (!(g.momentum >= 0)) throw new ArgumentError(`SGD: invalid momentum ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new ArgumentError(`SGD: invalid weightDecay ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new ArgumentError('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: SGDGroup): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, g.weightDecay);
    if (g.momentum !== 0) {
      let buf = state.momentumBuffer as Tensor | undefined;
      if (!buf) state.momentumBuffer = buf = keep(d.clone());
      else buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      d = g.nesterov ? d.add(buf, g.momentum) : buf;
    }
    p.add_(d, -g.lr);
  }
}
