/** Containers: Sequential, ModuleList and ModuleDict (children named "0", "1", … or by key). */
import { ArgumentError, type Tensor } from '@tessera/core';
import { Module } from '../module.js';

/** A module whose forward takes one tensor and returns one, as Sequential chains them. */
type TensorModule = Module & { forward(x: Tensor): Tensor };

const checkModule = (op: string, m: unknown): Module => {
  if (!(m instanceof Module)) throw new ArgumentError(`${op}: expected a Module, got ${m === null ? 'null' : typeof m}`);
  return m;
};

/** Shared indexed storage for Sequential and ModuleList. */
abstract class IndexedModules extends Module {
  constructor(modules: readonly Module[]) {
    super();
    modules.forEach((m) => this.append(m));
  }
  get length(): number {
    return this.namedChildren().length;
  }
  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const n = this.length;
    const j = i < 0 ? i + n : i;
    if (!Number.isInteger(i) || j < 0 || j >= n) throw new ArgumentError(`${this.constructor.name}: index ${i} out of range for ${n} modules`);
    return this.child(String(j))!;
  }
  append(module: Module): this {
    this.setChild(String(this.length), checkModule(`${this.constructor.name}.append`, module));
    return this;
  }
  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
}

/** Runs its modules in order, feeding each one's output to the next. */
export class Sequential extends IndexedModules {
  constructor(...modules: Module[]) {
    super(modules);
  }
  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) y = (m as TensorModule).forward(y);
    return y;
  }
}

/** A list of submodules, registered so their parameters are found; it has no forward of its own. */
export class ModuleList extends IndexedModules {
  constructor(modules: Iterable<Module> = []) {
    super([...modules]);
  }
}

/** Submodules by string key, in insertion order. Keys that clash with methods are reachable through get(). */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    const entries = Symbol.iterator in modules ? [...(modules as Iterable<[string, Module]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
  }
  get(key: string): Module | undefined {
    return this.child(key);
  }
  set(key: string, module: Module): this {
    this.setChild(key, checkModule('ModuleDict.set', module));
    return this;
  }
  has(key: string): boolean {
    return this.child(key) !== undefined;
  }
  delete(key: string): boolean {
    const had = this.has(key);
    this.deleteChild(key);
    return had;
  }
  keys(): string[] {
    return this.namedChildren().map(([k]) => k);
  }
  values(): Module[] {
    return this.children();
  }
  entries(): [string, Module][] {
    return this.namedChildren();
  }
  get size(): number {
    return this.namedChildren().length;
  }
}
