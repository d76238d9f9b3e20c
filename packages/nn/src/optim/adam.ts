/** Adam and AdamW (torch.optim.Adam / AdamW), with optional AMSGrad. */
import { adamStep_, ArgumentError, keep, type Tensor, zerosLike } from '@tessera/core';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  /** Decay rates of the first and second moment estimates. */
  betas?: [number, number];
  eps?: number;
  /** Adam: L2 penalty added to the gradient. AdamW: decoupled decay θ ← θ·(1 − lr·wd). */
  weightDecay?: number;
  /** Use the running maximum of the second moment (AMSGrad). */
  amsgrad?: boolean;
  maximize?: boolean;
}

export interface AdamGroup extends ParamGroup, Required<Omit<AdamOptions, 'lr'>> {}

function adamDefaults(o: AdamOptions, weightDecay: number): Omit<AdamGroup, 'params'> {
  return { lr: o.lr ?? 1e-3, betas: o.betas ?? [0.9, 0.999], eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? weightDecay, amsgrad: o.amsgrad ?? false, maximize: o.maximize ?? false };
}

/**
 * m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g², θ ← θ − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + eps), with
 * v replaced by its running maximum under AMSGrad. Weight decay is an L2 term on g.
 */
export class Adam extends Optimizer<AdamGroup> {
  /** Whether weight decay is decoupled from the gradient (AdamW). */
  protected readonly decoupled: boolean = false;

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, opts: AdamOptions = {}) {
    super(params, adamDefaults(opts, 0));
  }

  protected override validateGroup(g: AdamGroup): void {
    super.validateGroup(g);
    const [b1, b2] = g.betas;
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new ArgumentError(`${this.constructor.name}: betas must be within [0, 1), got [${g.betas.join(', ')}]`);
    if (!(g.eps >= 0)) throw new ArgumentError(`${this.constructor.name}: invalid eps ${g.eps}`);
    if (!(g.weightDecay >= 0)) throw new ArgumentError(`${this.constructor.name}: invalid weightDecay ${g.weightDecay}`);
  }

  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: AdamGroup): void {
    const [b1, b2] = g.betas;
    if (state.step === undefined) {
      state.step = 0;
      state.expAvg = keep(zerosLike(p));
      state.expAvgSq = keep(zerosLike(p));
      if (g.amsgrad) state.maxExpAvgSq = keep(zerosLike(p));
    }
    const step = (state.step as number) + 1;
    state.step = step;
    const h = { beta1: b1, beta2: b2, eps: g.eps, weightDecay: g.weightDecay, decoupled: this.decoupled, maximize: g.maximize, lr: g.lr };
    const hyper = { ...h, stepSize: g.lr / (1 - b1 ** step), bc2Sqrt: Math.sqrt(1 - b2 ** step) };
    // AMSGrad's running maximum may be missing from a state loaded from a run without it: it starts at zero then.
    const maxSq = g.amsgrad ? ((state.maxExpAvgSq as Tensor | undefined) ?? (state.maxExpAvgSq = keep(zerosLike(p)))) : undefined;
    // One fused pass where the backend has it (one dispatch instead of a dozen), else the same steps composed.
    adamStep_(p, grad, state.expAvg as Tensor, state.expAvgSq as Tensor, hyper, maxSq);
  }
}

/** Adam with decoupled weight decay (default 0.01): θ ← θ·(1 − lr·wd) before the Adam step (torch.optim.AdamW). */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 1e-2 });
  }
}
