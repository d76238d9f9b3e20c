/**
 * Module: the base class of layers and models, like torch.nn.Module.
 *
 * Parameters, buffers and submodules are registered by plain assignment (`this.fc1 = new Linear(4, 8)`), including
 * TS class fields (`fc1 = new Linear(4, 8)`): the constructor returns a Proxy whose `defineProperty` trap sees both
 * assignments and class-field definitions, and records each member in ordered registries. The registries are the
 * source of truth (they keep PyTorch's registration order); the own property mirrors them for attribute access.
 */
import { ArgumentError, DTypeError, isFloat, noGrad, Tensor, type DType, DTYPES } from '@tessera/core';
import { StateDictError } from './errors.js';

const parameterSet = new WeakSet<Tensor>();

/**
 * Marks a tensor as a module parameter (torch.nn.Parameter) and returns it: a leaf that requires grad (unless
 * `requiresGrad` is false). A non-leaf input is detached first, so the parameter shares its storage.
 */
export function Parameter(data: Tensor, requiresGrad = true): Tensor {
  const p = data.isLeaf ? data : data.detach();
  p.requiresGrad_(requiresGrad);
  parameterSet.add(p);
  return p;
}

/** Whether a value is a tensor made with `Parameter(...)`. */
export function isParameter(value: unknown): value is Tensor {
  return value instanceof Tensor && parameterSet.has(value);
}

/** Tensors by dotted name (`"fc1.weight"`), in registration order, like PyTorch's state_dict. */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). Shape mismatches are errors either way. */
  strict?: boolean;
}
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Where `Module.to` moves parameters and buffers: a device name, a float dtype, or both. */
export type ModuleTarget = string | { device?: string; dtype?: DType };

interface Registry {
  params: Map<string, Tensor | null>;
  buffers: Map<string, Tensor | null>;
  nonPersistent: Set<string>;
  modules: Map<string, Module | null>;
}

const REGISTRY = Symbol('tessera.nn.registry');
const registryOf = (m: Module): Registry => (m as unknown as { [REGISTRY]: Registry })[REGISTRY];
const isRegistered = (r: Registry, name: string) => r.params.has(name) || r.buffers.has(name) || r.modules.has(name);
const typeName = (v: unknown) => (v === null ? 'null' : v instanceof Tensor ? 'Tensor' : typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v);

/** Records an assigned value in the registries; returns false when the assignment should be skipped. */
function registerAssignment(target: Module, name: string, value: unknown): boolean {
  const r = registryOf(target);
  const owner = target.constructor.name;
  // A redeclared class field (`fc: Linear;` in a subclass) defines undefined over a registered member: keep it.
  if (value === undefined) return !isRegistered(r, name);
  if (value instanceof Module) {
    r.params.delete(name);
    r.buffers.delete(name);
    r.modules.set(name, value);
  } else if (isParameter(value)) {
    r.buffers.delete(name);
    r.modules.delete(name);
    r.params.set(name, value);
  } else if (value === null) {
    for (const map of [r.params, r.buffers, r.modules] as Map<string, unknown>[]) if (map.has(name)) map.set(name, null);
  } else if (value instanceof Tensor && r.buffers.has(name)) {
    r.buffers.set(name, value);
  } else if (r.params.has(name)) {
    throw new ArgumentError(
      `${owner}: cannot assign a ${typeName(value)} to parameter '${name}' (expected Parameter(...) or null); ` +
        'to change its values in place use noGrad(() => param.copy_(value))',
    );
  } else if (r.buffers.has(name)) {
    throw new ArgumentError(`${owner}: cannot assign a ${typeName(value)} to buffer '${name}' (expected a Tensor or null)`);
  } else if (r.modules.has(name)) {
    throw new ArgumentError(`${owner}: cannot assign a ${typeName(value)} to submodule '${name}' (expected a Module or null)`);
  }
  return true;
}

const registrationTraps: ProxyHandler<Module> = {
  defineProperty(target, key, desc) {
    if (typeof key === 'string' && 'value' in desc && !registerAssignment(target, key, desc.value)) return true;
    return Reflect.defineProperty(target, key, desc);
  },
  deleteProperty(target, key) {
    if (typeof key === 'string') {
      const r = registryOf(target);
      r.params.delete(key);
      r.buffers.delete(key);
      r.nonPersistent.delete(key);
      r.modules.delete(key);
    }
    return Reflect.deleteProperty(target, key);
  },
};

/** Indents every line but the first (PyTorch's _addindent). */
const indentTail = (s: string, n: number) => s.split('\n').join('\n' + ' '.repeat(n));

/**
 * Base class for all layers and models. Subclasses assign parameters (`Parameter(t)`), buffers
 * (`registerBuffer`) and submodules in their constructor or as class fields, and implement `forward`.
 *
 * Assigning `undefined` to a registered member is ignored (so a redeclared class field cannot wipe it); use
 * `null` to clear a slot or `delete this.name` to unregister it. Assigning a plain Tensor to a parameter slot is an
 * error, as in PyTorch.
 */
export class Module {
  /** Training mode (dropout active); set with train()/eval(). */
  training = true;

  constructor() {
    const registry: Registry = { params: new Map(), buffers: new Map(), nonPersistent: new Set(), modules: new Map() };
    Object.defineProperty(this, REGISTRY, { value: registry, enumerable: false });
    return new Proxy(this, registrationTraps);
  }

  /** The computation; subclasses override it with their own signature. */
  forward(..._args: any[]): any {
    throw new ArgumentError(`${this.constructor.name}: forward is not implemented`);
  }

  // ---- explicit registration ------------------------------------------------------------------------------
  private checkNewName(kind: string, name: string): void {
    if (typeof name !== 'string' || name === '' || name.includes('.'))
      throw new ArgumentError(`${this.constructor.name}.register${kind}: name must be a non-empty string without '.', got '${name}'`);
    if (name in this && !isRegistered(registryOf(this), name))
      throw new ArgumentError(`${this.constructor.name}.register${kind}: attribute '${name}' already exists`);
  }

  /** Registers a parameter (or an empty slot with null); a plain float tensor is made a Parameter. */
  registerParameter(name: string, param: Tensor | null): void {
    this.checkNewName('Parameter', name);
    const p = param === null || isParameter(param) ? param : Parameter(param);
    registryOf(this).params.set(name, p);
    (this as unknown as Record<string, unknown>)[name] = p;
  }

  /** Registers a tensor that is state but not a parameter (e.g. running statistics); persistent ones are saved. */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    this.checkNewName('Buffer', name);
    const r = registryOf(this);
    r.buffers.set(name, tensor);
    if (persistent) r.nonPersistent.delete(name);
    else r.nonPersistent.add(name);
    (this as unknown as Record<string, unknown>)[name] = tensor;
  }

  /** Registers a submodule (same as assigning it). */
  registerModule(name: string, module: Module | null): void {
    this.checkNewName('Module', name);
    registryOf(this).modules.set(name, module);
    (this as unknown as Record<string, unknown>)[name] = module;
  }

  /** @internal Registers a submodule without an attribute, for containers whose keys may collide with methods. */
  protected setChild(name: string, module: Module): void {
    const r = registryOf(this);
    if (name === '' || name.includes('.')) throw new ArgumentError(`${this.constructor.name}: module name must be non-empty without '.', got '${name}'`);
    const shadowsMember = name in this && !isRegistered(r, name);
    r.modules.set(name, module);
    if (!shadowsMember) Reflect.defineProperty(this, name, { value: module, writable: true, enumerable: true, configurable: true });
  }
  /** @internal Removes a child registered with setChild. */
  protected deleteChild(name: string): void {
    registryOf(this).modules.delete(name);
    if (Object.prototype.hasOwnProperty.call(this, name)) Reflect.deleteProperty(this, name);
  }
  /** @internal A child by registry name. */
  protected child(name: string): Module | undefined {
    return registryOf(this).modules.get(name) ?? undefined;
  }

  // ---- traversal ----------------------------------------------------------------------------------------------
  /** Direct submodules with their names. */
  namedChildren(): [string, Module][] {
    return [...registryOf(this).modules].filter((e): e is [string, Module] => e[1] !== null);
  }
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }
  /** This module and all its descendants (each once), with dotted names; this module's name is `prefix`. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [n, c] of m.namedChildren()) walk(c, name ? `${name}.${n}` : n);
    };
    walk(this, prefix);
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }
  /** Parameters with dotted names; a parameter shared by several modules (tied weights) is listed once. */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    return this.collect((r) => r.params, prefix, recurse);
  }
  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map(([, p]) => p);
  }
  /** Buffers with dotted names (persistent or not). */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    return this.collect((r) => r.buffers, prefix, recurse);
  }
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, b]) => b);
  }
  private collect(pick: (r: Registry) => Map<string, Tensor | null>, prefix: string, recurse: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mp, m] of mods)
      for (const [n, t] of pick(registryOf(m))) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        out.push([mp ? `${mp}.${n}` : n, t]);
      }
    return out;
  }

  /** Number of parameter elements (only those that require grad when onlyTrainable). */
  numParameters(onlyTrainable = false): number {
    return this.parameters()
      .filter((p) => !onlyTrainable || p.requiresGrad)
      .reduce((n, p) => n + p.size, 0);
  }

  /** Calls fn on every submodule (children first) and then on this module, like torch's Module.apply. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes and gradients ------------------------------------------------------------------------------------
  /** Sets training mode here and in every submodule. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Evaluation mode (dropout becomes the identity). */
  eval(): this {
    return this.train(false);
  }
  /** Turns gradient tracking of every parameter on or off (freezing). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }
  /** Clears parameter gradients: frees them (default, like PyTorch 2) or fills them with zeros. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (!p.grad) continue;
      if (setToNone) {
        p.grad.dispose();
        p.grad = null;
      } else noGrad(() => p.grad!.zero_());
    }
  }

  // ---- devices and dtypes -------------------------------------------------------------------------------------
  /**
   * Moves parameters, buffers and gradients to a device and/or casts the floating-point ones to a float dtype,
   * in place on the module. Parameters become new tensors (the old ones are disposed), so build optimizers after
   * moving the model, as in PyTorch.
   */
  to(target: ModuleTarget): this {
    const spec = typeof target === 'string' ? ((DTYPES as readonly string[]).includes(target) ? { dtype: target as DType } : { device: target }) : target;
    if (spec.dtype && !isFloat(spec.dtype))
      throw new DTypeError(`Module.to: only floating-point dtypes can be used for modules, got ${spec.dtype}`);
    const convert = (t: Tensor): Tensor => {
      let y = spec.device ? t.to(spec.device) : t;
      if (spec.dtype && isFloat(y.dtype) && y.dtype !== spec.dtype) y = y.to(spec.dtype);
      return y;
    };
    noGrad(() => {
      for (const m of this.modules()) {
        const r = registryOf(m);
        const rec = m as unknown as Record<string, unknown>;
        for (const [name, p] of r.params) {
          if (!p) continue;
          const q = convert(p);
          if (q === p) continue;
          const moved = Parameter(q, p.requiresGrad);
          if (p.grad) moved.grad = convert(p.grad);
          r.params.set(name, moved);
          if (rec[name] === p) rec[name] = moved;
          p.grad?.dispose();
          p.dispose();
        }
        for (const [name, b] of r.buffers) {
          if (!b) continue;
          const c = convert(b);
          if (c === b) continue;
          r.buffers.set(name, c);
          if (rec[name] === b) rec[name] = c;
          b.dispose();
        }
      }
    });
    return this;
  }
  /** Casts floating-point parameters and buffers to float64. */
  double(): this {
    return this.to({ dtype: 'float64' });
  }
  /** Casts floating-point parameters and buffers to float32. */
  float(): this {
    return this.to({ dtype: 'float32' });
  }

  // ---- state dicts --------------------------------------------------------------------------------------------
  /**
   * Parameters and persistent buffers by dotted name. The values are the live tensors (not copies), like
   * PyTorch's state_dict sharing storage; a module shared under two names appears under both.
   */
  stateDict(prefix = ''): StateDict {
    const out: StateDict = {};
    const walk = (m: Module, p: string) => {
      const r = registryOf(m);
      for (const [n, t] of r.params) if (t) out[p + n] = t;
      for (const [n, t] of r.buffers) if (t && !r.nonPersistent.has(n)) out[p + n] = t;
      for (const [n, c] of r.modules) if (c) walk(c, `${p}${n}.`);
    };
    walk(this, prefix ? `${prefix}.` : '');
    return out;
  }

  /**
   * Copies values from a state dict into the parameters and buffers, in place (tensor identities are kept, so
   * optimizers stay valid). Values are cast to each tensor's dtype. Throws StateDictError listing every missing and
   * unexpected key (strict mode) and every shape mismatch, before changing anything.
   */
  loadStateDict(stateDict: StateDict | Map<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const { strict = true } = opts;
    const given = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !(k in own));
    const shapeMismatches = Object.entries(own).flatMap(([key, t]) => {
      const src = given.get(key);
      if (!src) return [];
      if (!(src instanceof Tensor)) return [{ key, expected: t.shape, got: [] as number[] }];
      const same = src.ndim === t.ndim && src.shape.every((s, i) => s === t.shape[i]);
      return same ? [] : [{ key, expected: t.shape, got: src.shape }];
    });
    if (shapeMismatches.length || (strict && (missingKeys.length || unexpectedKeys.length)))
      throw new StateDictError(this.constructor.name, missingKeys, unexpectedKeys, shapeMismatches);
    noGrad(() => {
      for (const [key, dst] of Object.entries(own)) {
        const src = given.get(key);
        if (!src || src === dst) continue;
        const onDevice = src.device === dst.device ? src : src.to(dst.device);
        dst.copy_(onDevice);
        if (onDevice !== src) onDevice.dispose();
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing -----------------------------------------------------------------------------------------------
  /** The text inside this module's parentheses when printed (its hyperparameters). */
  extraRepr(): string {
    return '';
  }
  /** A PyTorch-style summary: the module tree with each layer's hyperparameters. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines = this.namedChildren().map(([n, m]) => `(${n}): ${indentTail(m.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let body = '';
    if (lines.length === 1 && extraLines.length === 1) body = extraLines[0]!;
    else if (lines.length) body = `\n  ${lines.join('\n  ')}\n`;
    return `${this.constructor.name}(${body})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
