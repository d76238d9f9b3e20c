/**
 * Optimizer base: parameter groups with their own hyperparameters, per-parameter state, zeroGrad, and state dicts
 * in PyTorch's layout (state keyed by the parameter's position across groups, groups listing those positions).
 */
import { ArgumentError, enableGrad, fmtShape, isFloat, noGrad, scope, Tensor } from '@tessera/core';
import { CheckpointError } from '../errors.js';

/** Hyperparameters every group has; optimizers add their own (momentum, betas, …). */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  /** Extra keys set by schedulers (initialLr, maxLr, …) live here too. */
  [key: string]: unknown;
}

/** A group as passed to the constructor: its params plus any hyperparameters overriding the defaults. */
export type ParamGroupInput = { params: Iterable<Tensor> } & Record<string, unknown>;

/** Per-parameter state: tensors (moment estimates, momentum buffers) and numbers (step counts). */
export type ParamState = Record<string, Tensor | number>;

/** A serializable optimizer state, like torch's optimizer.state_dict(). */
export interface OptimizerStateDict {
  /** State by parameter index (the parameter's position counting through all groups). */
  state: Record<number, ParamState>;
  /** Each group's hyperparameters, with `params` holding parameter indices. */
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

const isGroupList = (x: unknown[]): x is ParamGroupInput[] => x.length > 0 && !(x[0] instanceof Tensor);

export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  readonly paramGroups: G[] = [];
  /** State of each parameter, created lazily on its first step. */
  readonly state = new Map<Tensor, ParamState>();
  readonly defaults: Omit<G, 'params'>;

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput>, defaults: Omit<G, 'params'>) {
    this.defaults = defaults;
    const list = [...params] as unknown[];
    if (list.length === 0) throw new ArgumentError(`${this.constructor.name}: got an empty parameter list`);
    const groups = isGroupList(list) ? list : [{ params: list as Tensor[] }];
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group; missing hyperparameters come from the defaults. A parameter may belong to one group only. */
  addParamGroup(group: ParamGroupInput): void {
    const params = [...group.params];
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new ArgumentError(`${this.constructor.name}: parameters must be Tensors, got ${typeof p}`);
      if (!isFloat(p.dtype)) throw new ArgumentError(`${this.constructor.name}: can only optimize floating-point tensors, got ${p.dtype}`);
      if (!p.isLeaf) throw new ArgumentError(`${this.constructor.name}: can't optimize a non-leaf tensor (shape ${fmtShape(p.shape)})`);
    }
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    if (new Set(params).size !== params.length || params.some((p) => existing.has(p)))
      throw new ArgumentError(`${this.constructor.name}: some parameters appear in more than one parameter group`);
    const merged = { ...structuredCloneHyper(this.defaults), ...group, params } as unknown as G;
    this.validateGroup(merged);
    this.paramGroups.push(merged);
  }

  /** Checks a group's hyperparameters (subclasses override). */
  protected validateGroup(group: G): void {
    if (!(typeof group.lr === 'number' && group.lr >= 0)) throw new ArgumentError(`${this.constructor.name}: invalid learning rate ${group.lr}`);
  }

  /** Clears the gradients of every parameter: frees them (default) or fills them with zeros. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) {
          p.grad.dispose();
          p.grad = null;
        } else noGrad(() => p.grad!.zero_());
      }
  }

  /**
   * One update of every parameter that has a gradient, under noGrad. The optional closure recomputes the loss
   * (with grad enabled) before the update; its result is returned.
   */
  step(closure?: () => Tensor): Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() => {
      for (const group of this.paramGroups)
        for (const p of group.params) {
          if (!p.grad) continue;
          let st = this.state.get(p);
          if (!st) this.state.set(p, (st = {}));
          const state = st;
          scope(() => this.update(p, p.grad!, state, group));
        }
    });
    return loss;
  }

  /**
   * Updates one parameter in place. Runs inside noGrad and a scope that frees temporaries, so new state tensors
   * must be `keep()`-ed.
   */
  protected abstract update(param: Tensor, grad: Tensor, state: ParamState, group: G): void;

  /** The state in PyTorch's layout. Tensors are the live state tensors, not copies. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return { ...structuredCloneHyper(hyper), params: params.map((p) => index.get(p) ?? (index.set(p, index.size), index.size - 1)) };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, paramGroups };
  }

  /**
   * Restores hyperparameters and state (tensors are copied, cast to each parameter's dtype and moved to its
   * device). The group structure must match this optimizer's.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object')
      throw new CheckpointError(`${name}.loadStateDict: expected { state, paramGroups }`);
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new CheckpointError(`${name}.loadStateDict: the state dict has ${sd.paramGroups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((g, gi) => {
      const own = this.paramGroups[gi]!.params;
      if (!Array.isArray(g.params) || g.params.length !== own.length)
        throw new CheckpointError(`${name}.loadStateDict: parameter group ${gi} has ${g.params?.length} parameters in the state dict, ${own.length} in the optimizer`);
      g.params.forEach((idx, k) => byIndex.set(idx, own[k]!));
    });
    const newState = new Map<Tensor, ParamState>();
    for (const [key, s] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new CheckpointError(`${name}.loadStateDict: state for parameter index ${key}, which no group lists`);
      const restored: ParamState = {};
      for (const [k, v] of Object.entries(s)) {
        if (typeof v === 'number') restored[k] = v;
        else if (v instanceof Tensor) {
          if (v.ndim !== p.ndim || v.shape.some((d, i) => d !== p.shape[i]))
            throw new CheckpointError(`${name}.loadStateDict: state '${k}' of parameter ${key} has shape ${fmtShape(v.shape)}, the parameter ${fmtShape(p.shape)}`);
          restored[k] = noGrad(() => {
            const moved = v.device === p.device ? v : v.to(p.device);
            const cast = isFloat(moved.dtype) ? moved.to(p.dtype) : moved;
            if (cast !== moved && moved !== v) moved.dispose();
            return cast === v ? v.clone() : cast;
          });
        } else throw new CheckpointError(`${name}.loadStateDict: state '${k}' of parameter ${key} must be a Tensor or a number`);
      }
      newState.set(p, restored);
    }
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const [p, s] of newState) this.state.set(p, s);
    sd.paramGroups.forEach((g, gi) => {
      const { params: _ignored, ...hyper } = g;
      Object.assign(this.paramGroups[gi]!, structuredCloneHyper(hyper));
    });
  }
}

/** A deep copy of plain hyperparameter values (numbers, booleans, strings, arrays and plain objects of them). */
function structuredCloneHyper<T>(v: T): T {
  if (Array.isArray(v)) return v.map(structuredCloneHyper) as T;
  if (v && typeof v === 'object' && !(v instanceof Tensor))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structuredCloneHyper(x)])) as T;
  return v;
}
