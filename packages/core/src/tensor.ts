/**
 * Tensor: storage on a backend + shape + strides + offset + dtype. Views share storage and never copy.
 *
 * This file holds the class and its bookkeeping (memory, reading values, autograd fields). The ops are defined in
 * `ops/*` as functions and attached to the prototype there, so each op lives in exactly one place.
 */
import type { Backend, View } from './backend/interface.js';
import { getBackend } from './backend/registry.js';
import type { DType, TypedArray } from './dtype.js';
import { AutogradError, DeviceError, DisposedError, ShapeError, fmtShape } from './errors.js';
import { contiguousStrides, isContiguousLayout, numel, type Shape } from './shape.js';
import { Storage } from './storage.js';
import { checkNotCapturing } from './capture-mode.js';
import type { Node } from './autograd/node.js';

/** A gradient hook: may return a replacement gradient. */
export type GradHook = (grad: Tensor) => Tensor | void;

/** Nested JS arrays of numbers or booleans, as returned by `array()`. */
export type NestedArray = number | boolean | NestedArray[];

let backwardDepth = 0;
/** @internal Runs fn as part of a backward pass (saved, possibly disposed handles may be read). */
export function duringBackward<T>(fn: () => T): T {
  backwardDepth++;
  try {
    return fn();
  } finally {
    backwardDepth--;
  }
}

// ---- scopes: deterministic release of every tensor created inside a block -----------------------------------
const scopes: Set<Tensor>[] = [];

const READ_IN_CAPTURE = 'a replay would not read again; return the tensor from the captured function and read it after replay()';

export class Tensor {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly storage: Storage;

  /** Whether autograd tracks this tensor. Set on leaves with requiresGrad_(); derived on op outputs. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf (or of a non-leaf that called retainGrad()). */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor; null for leaves. */
  gradFn: Node | null = null;
  /** Hooks run on this leaf's gradient before accumulation (non-leaf hooks live on gradFn). */
  leafHooks: GradHook[] = [];
  /** Optional label shown in printed graphs. */
  name?: string;
  private disposed = false;

  /** @internal Use the creation functions (tensor, zeros, …) or view ops instead. */
  constructor(storage: Storage, shape: Shape, strides: readonly number[], offset: number, dtype: DType) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze([...strides]);
    this.offset = offset;
    this.dtype = dtype;
    storage.retain();
    scopes.at(-1)?.add(this);
  }

  /** @internal A new contiguous tensor owning `buffer`. */
  static fromBuffer(backend: Backend, buffer: import('./backend/interface.js').BackendBuffer, shape: Shape, dtype: DType): Tensor {
    return new Tensor(new Storage(backend, buffer), shape, contiguousStrides(shape), 0, dtype);
  }

  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }
  numel(): number {
    return numel(this.shape);
  }
  get backend(): Backend {
    return this.storage.backend;
  }
  /** The backend's name, like PyTorch's device. */
  get device(): string {
    return this.storage.backend.name;
  }
  /** A leaf is a tensor not produced by a recorded op (user-created, or any tensor that does not require grad). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  isContiguous(): boolean {
    return isContiguousLayout(this.shape, this.strides);
  }
  /** Size of one dim (negative dims count from the end), or the whole shape. */
  dimSize(dim: number): number {
    const d = dim < 0 ? dim + this.ndim : dim;
    const s = this.shape[d];
    if (s === undefined) throw new DeviceError(`size: dim ${dim} out of range for shape ${fmtShape(this.shape)}`);
    return s;
  }

  /** @internal The layout handed to backend kernels. Throws if the storage was freed. */
  layout(op = 'op'): View {
    this.checkUsable(op);
    return { buffer: this.storage.buffer, shape: this.shape, strides: this.strides, offset: this.offset, dtype: this.dtype };
  }

  /** @internal A view of the same storage with another layout (no autograd; see ops/views.ts for the public ones). */
  withLayout(shape: Shape, strides: readonly number[], offset: number): Tensor {
    this.checkUsable('view');
    return new Tensor(this.storage, shape, strides, offset, this.dtype);
  }

  /**
   * Use after dispose() is an error, even while a view or the autograd graph still holds the storage; backward
   * itself may read disposed handles whose values it saved.
   */
  private checkUsable(op: string): void {
    if (this.disposed && backwardDepth === 0)
      throw new DisposedError(`${op}: the tensor (shape ${fmtShape(this.shape)}, ${this.dtype}) was disposed`);
    this.storage.checkAlive(op);
  }

  // ---- autograd bookkeeping ----------------------------------------------------------------------------------
  /** Sets requiresGrad on a leaf, in place (torch's requires_grad_). */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag)
      throw new AutogradError(`requiresGrad_: cannot turn off requiresGrad on a non-leaf tensor (produced by ${this.gradFn!.name}); use detach()`);
    this.requiresGrad = flag;
    return this;
  }

  // ---- reading values -----------------------------------------------------------------------------------------
  /** Resolves to the elements in row-major order, as a typed array. */
  async data(): Promise<TypedArray> {
    checkNotCapturing('data', READ_IN_CAPTURE);
    return this.backend.read(this.layout('data'));
  }
  /** The elements synchronously; only on backends whose memory the host can read directly (reference, cpu). */
  dataSync(): TypedArray {
    checkNotCapturing('dataSync', READ_IN_CAPTURE);
    const b = this.backend;
    if (!b.capabilities.readSync || !b.readSync)
      throw new DeviceError(`dataSync: the '${b.name}' backend cannot read synchronously; use 'await tensor.data()'`);
    return b.readSync(this.layout('dataSync'));
  }
  /** Resolves to nested JS arrays (booleans for bool tensors). */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape, this.dtype);
  }
  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape, this.dtype);
  }
  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    return itemOf(this, await this.data());
  }
  itemSync(): number {
    return itemOf(this, this.dataSync());
  }

  // ---- memory -------------------------------------------------------------------------------------------------
  /**
   * Releases this handle's reference to the storage now. The buffer is freed once no tensor, view or saved
   * autograd value refers to it; dropped handles are also released by a GC finalizer as a safety net.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of scopes) s.delete(this);
    this.storage.release();
    this.gradFn?.unref();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  get isDisposed(): boolean {
    return this.disposed;
  }
}

function itemOf(t: Tensor, d: TypedArray): number {
  if (d.length !== 1) throw new ShapeError(`item: expected a tensor with one element, got shape ${fmtShape(t.shape)}`);
  return d[0]!;
}

function nest(d: TypedArray, shape: Shape, dtype: DType): NestedArray {
  const conv = dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return conv(d[0]!);
  const rec = (dim: number, off: number): NestedArray[] => {
    const n = shape[dim]!;
    const inner = numel(shape.slice(dim + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) out.push(dim === shape.length - 1 ? conv(d[off + i]!) : rec(dim + 1, off + i * inner));
    return out;
  };
  return rec(0, 0);
}

/** Anything ops accept where a tensor is expected: a tensor or a JS scalar. */
export type TensorLike = Tensor | number | boolean;

/** The backend new tensors go to when none is given. */
export function defaultBackend(): Backend {
  return getBackend();
}

/** Collects every Tensor inside a (possibly nested) value: arrays, plain objects, Maps. */
function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collectTensors(v, out);
}

/**
 * Runs fn and disposes every tensor created inside it except those it returns (found in arrays/objects) or marked
 * with keep(). Async functions are supported, but tensors created by unrelated code running during its awaits are
 * tracked by this scope too, so prefer one async scope at a time.
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Tensor>();
  scopes.push(created);
  const finish = (result: unknown) => {
    scopes.splice(scopes.lastIndexOf(created), 1);
    const keepers = new Set<Tensor>();
    collectTensors(result, keepers);
    for (const t of created) {
      if (keepers.has(t)) scopes.at(-1)?.add(t);
      else t.dispose();
    }
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    finish(undefined);
    throw e;
  }
  if (result instanceof Promise)
    return result.then(
      (r) => (finish(r), r),
      (e) => {
        finish(undefined);
        throw e;
      },
    ) as T;
  finish(result);
  return result;
}

/** Exempts tensors from disposal by the enclosing scopes. */
export function keep<T extends Tensor | Tensor[]>(t: T): T {
  for (const x of Array.isArray(t) ? t : [t]) for (const s of scopes) s.delete(x);
  return t;
}
