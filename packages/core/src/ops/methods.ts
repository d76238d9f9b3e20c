/**
 * Tensor methods: PyTorch's method names in camelCase, each a one-line delegation to the op defined in its module.
 * Shape arguments may be given as a list or spread (`x.view([2, 3])` or `x.view(2, 3)`).
 */
import { backward, type BackwardOptions } from '../autograd/engine.js';
import { noGrad } from '../autograd/mode.js';
import type { Node } from '../autograd/node.js';
import type { DType } from '../dtype.js';
import { ArgumentError, AutogradError, DTypeError } from '../errors.js';
import { keep, Tensor, type GradHook, type TensorLike } from '../tensor.js';
import { isFloat } from '../dtype.js';
import * as ew from './elementwise.js';
import * as red from './reduce.js';
import * as views from './views.js';
import * as idx from './indexing.js';
import * as join from './join.js';
import * as linalg from './linalg.js';
import * as fused from './fused.js';
import * as cast from './cast.js';
import * as creation from './creation.js';
import { copy_, fill_, inPlace, zero_ } from './inplace.js';
import { formatTensor } from '../print.js';

type ShapeArgs = number[] | [readonly number[]];
const shapeOf = (args: ShapeArgs): readonly number[] => (Array.isArray(args[0]) ? (args[0] as readonly number[]) : (args as number[]));

/** One item of `t.index(...)`: an int selects, null adds a dim, ':' or 'a:b:c' or [a, b, c] slices, '...' skips dims, an int32 tensor picks. */
export type IndexSpec = number | null | string | readonly (number | null)[] | Tensor;

declare module '../tensor.js' {
  interface Tensor {
    add(other: TensorLike, alpha?: number): Tensor;
    sub(other: TensorLike, alpha?: number): Tensor;
    mul(other: TensorLike): Tensor;
    div(other: TensorLike): Tensor;
    pow(exponent: TensorLike): Tensor;
    maximum(other: TensorLike): Tensor;
    minimum(other: TensorLike): Tensor;
    eq(other: TensorLike): Tensor;
    ne(other: TensorLike): Tensor;
    lt(other: TensorLike): Tensor;
    le(other: TensorLike): Tensor;
    gt(other: TensorLike): Tensor;
    ge(other: TensorLike): Tensor;
    logicalAnd(other: TensorLike): Tensor;
    logicalOr(other: TensorLike): Tensor;
    logicalXor(other: TensorLike): Tensor;
    logicalNot(): Tensor;
    isnan(): Tensor;
    /** this where cond is true, other elsewhere (torch.Tensor.where). */
    where(cond: Tensor, other: TensorLike): Tensor;
    clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    floor(): Tensor;
    ceil(): Tensor;
    round(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    erf(): Tensor;
    reciprocal(): Tensor;
    square(): Tensor;
    relu(): Tensor;
    leakyRelu(negativeSlope?: number): Tensor;
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    silu(): Tensor;
    softplus(beta?: number, threshold?: number): Tensor;

    sum(dim?: red.Dims, keepdim?: boolean): Tensor;
    mean(dim?: red.Dims, keepdim?: boolean): Tensor;
    prod(dim?: red.Dims, keepdim?: boolean): Tensor;
    amax(dim?: red.Dims, keepdim?: boolean): Tensor;
    amin(dim?: red.Dims, keepdim?: boolean): Tensor;
    /** With no dim: the maximum over all elements. With a dim: values and indices along it. */
    max(): Tensor;
    max(dim: number, keepdim?: boolean): red.ValuesIndices;
    min(): Tensor;
    min(dim: number, keepdim?: boolean): red.ValuesIndices;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    argmin(dim?: number, keepdim?: boolean): Tensor;
    var(dim?: red.Dims, opts?: red.VarOptions): Tensor;
    std(dim?: red.Dims, opts?: red.VarOptions): Tensor;
    logsumexp(dim?: red.Dims, keepdim?: boolean): Tensor;
    norm(p?: number | 'fro', dim?: red.Dims, keepdim?: boolean): Tensor;
    all(dim?: red.Dims, keepdim?: boolean): Tensor;
    any(dim?: red.Dims, keepdim?: boolean): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;

    matmul(other: Tensor): Tensor;
    dot(other: Tensor): Tensor;
    /** Transpose of the last two dims. */
    readonly mT: Tensor;
    /** All dims reversed. */
    readonly T: Tensor;

    view(...shape: ShapeArgs): Tensor;
    reshape(...shape: ShapeArgs): Tensor;
    permute(...dims: ShapeArgs): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    /** Transpose of a ≤ 2-D tensor. */
    t(): Tensor;
    expand(...shape: ShapeArgs): Tensor;
    expandAs(other: Tensor): Tensor;
    broadcastTo(...shape: ShapeArgs): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    select(dim: number, index: number): Tensor;
    slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
    index(...specs: IndexSpec[]): Tensor;
    squeeze(dim?: number | readonly number[]): Tensor;
    unsqueeze(dim: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    unflatten(dim: number, sizes: readonly number[]): Tensor;
    diagonal(offset?: number, dim1?: number, dim2?: number): Tensor;
    asStrided(size: readonly number[], stride: readonly number[], storageOffset?: number): Tensor;
    flip(dims: number | readonly number[]): Tensor;
    contiguous(): Tensor;
    clone(): Tensor;
    detach(): Tensor;

    gather(dim: number, index: Tensor): Tensor;
    scatter(dim: number, index: Tensor, src: TensorLike): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
    indexAdd(dim: number, index: Tensor, source: Tensor, alpha?: number): Tensor;
    maskedFill(mask: Tensor, value: TensorLike): Tensor;
    triu(diagonal?: number): Tensor;
    tril(diagonal?: number): Tensor;
    cumsum(dim: number): Tensor;
    sort(dim?: number, descending?: boolean): idx.SortResult;
    argsort(dim?: number, descending?: boolean): Tensor;
    topk(k: number, dim?: number, largest?: boolean): idx.SortResult;
    repeat(...repeats: ShapeArgs): Tensor;
    repeatInterleave(repeats: number | readonly number[], dim?: number): Tensor;
    split(sizeOrSections: number | readonly number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];

    to(target: cast.ToTarget): Tensor;
    toAsync(device: string): Promise<Tensor>;
    /** Cast to float16 (data() then gives a Float32Array of half-precision values). */
    half(): Tensor;
    float(): Tensor;
    double(): Tensor;
    int(): Tensor;
    bool(): Tensor;
    zerosLike(): Tensor;
    onesLike(): Tensor;

    add_(other: TensorLike, alpha?: number): Tensor;
    sub_(other: TensorLike, alpha?: number): Tensor;
    mul_(other: TensorLike): Tensor;
    div_(other: TensorLike): Tensor;
    clamp_(min?: TensorLike | null, max?: TensorLike | null): Tensor;
    copy_(src: TensorLike): Tensor;
    fill_(value: number | boolean): Tensor;
    zero_(): Tensor;

    /** Accumulates gradients into the leaves (a scalar output needs no gradient argument). */
    backward(gradient?: Tensor | null, opts?: BackwardOptions): void;
    /** Runs fn on this tensor's gradient during backward; fn may return a replacement. */
    registerHook(fn: GradHook): { remove(): void };
    /** Makes a non-leaf keep its .grad after backward. */
    retainGrad(): Tensor;
    toString(): string;
  }
}

const P = Tensor.prototype as unknown as Record<string, unknown>;
const define = (methods: Record<string, (this: Tensor, ...args: never[]) => unknown>) => Object.assign(P, methods);

define({
  add(other: TensorLike, alpha?: number) { return ew.add(this, other, alpha); },
  sub(other: TensorLike, alpha?: number) { return ew.sub(this, other, alpha); },
  mul(other: TensorLike) { return ew.mul(this, other); },
  div(other: TensorLike) { return ew.div(this, other); },
  pow(e: TensorLike) { return ew.pow(this, e); },
  maximum(o: TensorLike) { return ew.maximum(this, o); },
  minimum(o: TensorLike) { return ew.minimum(this, o); },
  eq(o: TensorLike) { return ew.eq(this, o); },
  ne(o: TensorLike) { return ew.ne(this, o); },
  lt(o: TensorLike) { return ew.lt(this, o); },
  le(o: TensorLike) { return ew.le(this, o); },
  gt(o: TensorLike) { return ew.gt(this, o); },
  ge(o: TensorLike) { return ew.ge(this, o); },
  logicalAnd(o: TensorLike) { return ew.logicalAnd(this, o); },
  logicalOr(o: TensorLike) { return ew.logicalOr(this, o); },
  logicalXor(o: TensorLike) { return ew.logicalXor(this, o); },
  logicalNot() { return ew.logicalNot(this); },
  isnan() { return ew.isnan(this); },
  where(cond: Tensor, other: TensorLike) { return ew.where(cond, this, other); },
  clamp(min?: TensorLike | null, max?: TensorLike | null) { return ew.clamp(this, min, max); },
  leakyRelu(slope?: number) { return ew.leakyRelu(this, slope); },
  gelu(approximate?: 'none' | 'tanh') { return ew.gelu(this, approximate); },
  softplus(beta?: number, threshold?: number) { return ew.softplus(this, beta, threshold); },
});
for (const name of ['neg', 'abs', 'sign', 'floor', 'ceil', 'round', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'reciprocal', 'square', 'relu', 'silu'] as const) {
  const fn = ew[name] as (x: Tensor) => Tensor;
  P[name] = function (this: Tensor) { return fn(this); };
}

define({
  sum(dim?: red.Dims, keepdim?: boolean) { return red.sum(this, dim, keepdim); },
  mean(dim?: red.Dims, keepdim?: boolean) { return red.mean(this, dim, keepdim); },
  prod(dim?: red.Dims, keepdim?: boolean) { return red.prod(this, dim, keepdim); },
  amax(dim?: red.Dims, keepdim?: boolean) { return red.amax(this, dim, keepdim); },
  amin(dim?: red.Dims, keepdim?: boolean) { return red.amin(this, dim, keepdim); },
  max(dim?: number, keepdim?: boolean) { return dim === undefined ? red.amax(this) : red.maxDim(this, dim, keepdim); },
  min(dim?: number, keepdim?: boolean) { return dim === undefined ? red.amin(this) : red.minDim(this, dim, keepdim); },
  argmax(dim?: number, keepdim?: boolean) { return red.argmax(this, dim, keepdim); },
  argmin(dim?: number, keepdim?: boolean) { return red.argmin(this, dim, keepdim); },
  var(dim?: red.Dims, opts?: red.VarOptions) { return red.variance(this, dim, opts); },
  std(dim?: red.Dims, opts?: red.VarOptions) { return red.std(this, dim, opts); },
  logsumexp(dim?: red.Dims, keepdim?: boolean) { return red.logsumexp(this, dim, keepdim); },
  norm(p?: number | 'fro', dim?: red.Dims, keepdim?: boolean) { return red.norm(this, p, dim, keepdim); },
  all(dim?: red.Dims, keepdim?: boolean) { return red.all(this, dim, keepdim); },
  any(dim?: red.Dims, keepdim?: boolean) { return red.any(this, dim, keepdim); },
  softmax(dim?: number) { return fused.softmax(this, dim); },
  logSoftmax(dim?: number) { return fused.logSoftmax(this, dim); },
  matmul(o: Tensor) { return linalg.matmul(this, o); },
  dot(o: Tensor) { return linalg.dot(this, o); },
});
Object.defineProperty(P, 'mT', {
  get(this: Tensor) {
    if (this.ndim < 2) throw new ArgumentError(`mT: expected at least 2 dims, got shape [${this.shape.join(', ')}]`);
    return views.transpose(this, -2, -1);
  },
});
Object.defineProperty(P, 'T', { get(this: Tensor) { return views.permute(this, this.shape.map((_, i) => this.ndim - 1 - i)); } });

define({
  view(...s: ShapeArgs) { return views.view(this, shapeOf(s)); },
  reshape(...s: ShapeArgs) { return views.reshape(this, shapeOf(s)); },
  permute(...d: ShapeArgs) { return views.permute(this, shapeOf(d)); },
  transpose(a: number, b: number) { return views.transpose(this, a, b); },
  t() {
    if (this.ndim > 2) throw new ArgumentError(`t: expected at most 2 dims, got shape [${this.shape.join(', ')}]; use transpose or mT`);
    return this.ndim < 2 ? this : views.transpose(this, 0, 1);
  },
  expand(...s: ShapeArgs) { return views.expand(this, shapeOf(s)); },
  expandAs(o: Tensor) { return views.expand(this, o.shape); },
  broadcastTo(...s: ShapeArgs) { return views.expand(this, shapeOf(s)); },
  narrow(d: number, s: number, l: number) { return views.narrow(this, d, s, l); },
  select(d: number, i: number) { return views.select(this, d, i); },
  slice(d: number, s?: number | null, e?: number | null, st?: number) { return views.slice(this, d, s, e, st); },
  index(...specs: IndexSpec[]) { return indexWith(this, specs); },
  squeeze(d?: number | readonly number[]) { return views.squeeze(this, d); },
  unsqueeze(d: number) { return views.unsqueeze(this, d); },
  flatten(s?: number, e?: number) { return views.flatten(this, s, e); },
  unflatten(d: number, sizes: readonly number[]) { return views.unflatten(this, d, sizes); },
  diagonal(o?: number, a?: number, b?: number) { return views.diagonal(this, o, a, b); },
  asStrided(size: readonly number[], stride: readonly number[], off?: number) { return views.asStrided(this, size, stride, off); },
  flip(d: number | readonly number[]) { return views.flip(this, d); },
  contiguous() { return views.contiguous(this); },
  clone() { return views.clone(this); },
  detach() { return views.detach(this); },
});

define({
  gather(d: number, i: Tensor) { return idx.gather(this, d, i); },
  scatter(d: number, i: Tensor, s: TensorLike) { return idx.scatter(this, d, i, s); },
  scatterAdd(d: number, i: Tensor, s: Tensor) { return idx.scatterAdd(this, d, i, s); },
  indexSelect(d: number, i: Tensor) { return idx.indexSelect(this, d, i); },
  indexAdd(d: number, i: Tensor, s: Tensor, a?: number) { return idx.indexAdd(this, d, i, s, a); },
  maskedFill(m: Tensor, v: TensorLike) { return idx.maskedFill(this, m, v); },
  triu(k?: number) { return idx.triu(this, k); },
  tril(k?: number) { return idx.tril(this, k); },
  cumsum(d: number) { return idx.cumsum(this, d); },
  sort(d?: number, desc?: boolean) { return idx.sort(this, d, desc); },
  argsort(d?: number, desc?: boolean) { return idx.argsort(this, d, desc); },
  topk(k: number, d?: number, largest?: boolean) { return idx.topk(this, k, d, largest); },
  repeat(...r: ShapeArgs) { return join.repeat(this, shapeOf(r)); },
  repeatInterleave(r: number | readonly number[], d?: number) { return join.repeatInterleave(this, r, d); },
  split(s: number | readonly number[], d?: number) { return join.split(this, s, d); },
  chunk(c: number, d?: number) { return join.chunk(this, c, d); },
});

define({
  to(target: cast.ToTarget) { return cast.to(this, target); },
  toAsync(device: string) { return cast.toAsync(this, device); },
  half() { return cast.toDtype(this, 'float16'); },
  float() { return cast.toDtype(this, 'float32'); },
  double() { return cast.toDtype(this, 'float64'); },
  int() { return cast.toDtype(this, 'int32'); },
  bool() { return cast.toDtype(this, 'bool'); },
  zerosLike() { return creation.zerosLike(this); },
  onesLike() { return creation.onesLike(this); },
  add_(o: TensorLike, alpha?: number) { return inPlace('add_', this, () => ew.add(this, o, alpha)); },
  sub_(o: TensorLike, alpha?: number) { return inPlace('sub_', this, () => ew.sub(this, o, alpha)); },
  mul_(o: TensorLike) { return inPlace('mul_', this, () => ew.mul(this, o)); },
  div_(o: TensorLike) { return inPlace('div_', this, () => ew.div(this, o)); },
  clamp_(min?: TensorLike | null, max?: TensorLike | null) { return inPlace('clamp_', this, () => ew.clamp(this, min, max)); },
  copy_(src: TensorLike) { return copy_(this, src); },
  fill_(v: number | boolean) { return fill_(this, v); },
  zero_() { return zero_(this); },
});

define({
  backward(gradient?: Tensor | null, opts?: BackwardOptions) { backward(this, gradient, opts); },
  registerHook(fn: GradHook) {
    if (!this.requiresGrad) throw new AutogradError("registerHook: cannot register a hook on a tensor that doesn't require grad");
    const list = this.gradFn ? (this.gradFn as Node).hooks : this.leafHooks;
    list.push(fn);
    return { remove: () => void list.splice(list.indexOf(fn) >>> 0, 1) };
  },
  retainGrad() {
    if (!this.gradFn) return this;
    const self = this;
    (this.gradFn as Node).hooks.push((g) => {
      noGrad(() => (self.grad = keep(self.grad ? self.grad.add(g) : g.detach().clone())));
    });
    return this;
  },
  toString(this: Tensor) { return formatTensor(this); },
});
(P as Record<symbol, unknown>)[Symbol.for('nodejs.util.inspect.custom')] = function (this: Tensor) {
  return formatTensor(this);
};

// requiresGrad_ lives on the class; check the dtype here too so every entry point agrees.
const baseRequiresGrad = Tensor.prototype.requiresGrad_;
Tensor.prototype.requiresGrad_ = function (this: Tensor, flag = true) {
  if (flag && !isFloat(this.dtype)) throw new DTypeError(`requiresGrad_: only floating-point tensors can require gradients, got ${this.dtype}`);
  return baseRequiresGrad.call(this, flag);
};

/** PyTorch-style basic indexing: x.index(0, ':', '1:5:2', null, '...'). */
function indexWith(x: Tensor, specs: IndexSpec[]): Tensor {
  const consumes = (s: IndexSpec) => s !== null && s !== '...';
  const ell = specs.indexOf('...');
  if (ell !== specs.lastIndexOf('...')) throw new ArgumentError('index: at most one "..." is allowed');
  const used = specs.filter(consumes).length;
  if (used > x.ndim) throw new ArgumentError(`index: ${used} indices for a tensor with ${x.ndim} dims`);
  const full = ell < 0 ? [...specs, ...new Array<IndexSpec>(x.ndim - used).fill(':')] : [...specs.slice(0, ell), ...new Array<IndexSpec>(x.ndim - used).fill(':'), ...specs.slice(ell + 1)];
  let y = x;
  let dim = 0;
  for (const s of full) {
    if (s === null) y = views.unsqueeze(y, dim++);
    else if (typeof s === 'number') y = views.select(y, dim, s);
    else if (s instanceof Tensor) y = idx.indexSelect(y, dim++, s);
    else {
      const parts = typeof s === 'string' ? parseSlice(s) : s;
      y = views.slice(y, dim++, parts[0] ?? null, parts[1] ?? null, parts[2] ?? 1);
    }
  }
  return y;
}

function parseSlice(s: string): (number | null)[] {
  if (!/^-?\d*(:-?\d*){0,2}$/.test(s)) throw new ArgumentError(`index: cannot parse slice '${s}' (expected like '1:5', '::2', '::-1')`);
  const parts = s.split(':').map((p) => (p === '' ? null : Number(p)));
  if (parts.length === 1) throw new ArgumentError(`index: '${s}' is not a slice; pass a number to select`);
  return parts;
}

