/**
 * Creating tensors: from JS data, constant fills, ranges and seeded random numbers.
 *
 * Dtype defaults: JS numbers become the default float dtype (float32) unless `dtype` says otherwise — JavaScript
 * cannot tell 1.0 from 1, so we follow TensorFlow.js here rather than PyTorch's int64; booleans become bool;
 * typed arrays keep their own dtype. `arange` with all-integer arguments gives int32, like PyTorch's integer arange.
 */
import { backendByName } from '../backend/registry.js';
import type { Backend } from '../backend/interface.js';
import { dtypeOfArray, getDefaultDtype, isFloat, type DType, type TypedArray } from '../dtype.js';
import { ArgumentError, DTypeError, fmtShape, ShapeError } from '../errors.js';
import { defaultGenerator, type Generator } from '../random.js';
import { checkShape, numel, type Shape } from '../shape.js';
import { defaultBackend, Tensor, type NestedArray } from '../tensor.js';
import * as prim from './prim.js';
import { argsort } from './indexing.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Backend name ('reference', 'cpu', 'webgpu'); defaults to the current backend. */
  device?: string;
}
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

const backendFor = (o: CreateOptions): Backend => (o.device ? backendByName(o.device) : defaultBackend());

function finish(t: Tensor, o: CreateOptions, op: string): Tensor {
  if (o.requiresGrad) {
    if (!isFloat(t.dtype)) throw new DTypeError(`${op}: only floating-point tensors can require gradients, got ${t.dtype}`);
    t.requiresGrad = true;
  }
  return t;
}

/** Flattens rectangular nested arrays, checking that they are not ragged. */
function flattenNested(data: NestedArray, op: string): { values: number[]; shape: number[]; sawBool: boolean } {
  const shape: number[] = [];
  for (let d: NestedArray = data; Array.isArray(d); d = d[0]!) {
    shape.push(d.length);
    if (d.length === 0) break;
  }
  const values: number[] = [];
  let sawBool = false;
  const walk = (d: NestedArray, depth: number, path: string) => {
    if (Array.isArray(d)) {
      if (depth >= shape.length || d.length !== shape[depth])
        throw new ShapeError(`${op}: ragged nested array at ${path || 'top level'}: expected ${shape[depth] ?? 'a scalar'} entries, got ${d.length}`);
      d.forEach((v, i) => walk(v, depth + 1, `${path}[${i}]`));
    } else {
      if (depth !== shape.length) throw new ShapeError(`${op}: ragged nested array at ${path}: expected a list of ${shape[depth]}`);
      if (typeof d === 'boolean') sawBool = true;
      else if (typeof d !== 'number') throw new ArgumentError(`${op}: expected numbers or booleans, got ${typeof d} at ${path}`);
      values.push(+d);
    }
  };
  walk(data, 0, '');
  return { values, shape, sawBool };
}

/** A tensor from nested arrays, a scalar, or a typed array (1-D unless `shape` is given). Always copies. */
export function tensor(data: NestedArray | TypedArray, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  const backend = backendFor(opts);
  if (ArrayBuffer.isView(data)) {
    const shape = opts.shape ?? [data.length];
    checkShape('tensor', shape);
    if (numel(shape) !== data.length) throw new ShapeError(`tensor: shape ${fmtShape(shape)} needs ${numel(shape)} values, got ${data.length}`);
    const dtype = opts.dtype ?? dtypeOfArray(data);
    return finish(Tensor.fromBuffer(backend, backend.upload(data, dtype), shape, dtype), opts, 'tensor');
  }
  const { values, shape, sawBool } = flattenNested(data, 'tensor');
  const dtype = opts.dtype ?? (sawBool ? 'bool' : getDefaultDtype());
  return finish(prim.upload(backend, values, shape, dtype), opts, 'tensor');
}

export function full(shape: Shape, value: number | boolean, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  const dtype = opts.dtype ?? (typeof value === 'boolean' ? 'bool' : getDefaultDtype());
  return finish(prim.fill(backendFor(opts), shape, +value, dtype), opts, 'full');
}
export const zeros = (shape: Shape, opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}) => full(shape, 1, opts);

const likeOpts = (t: Tensor, o: CreateOptions): CreateOptions => ({ dtype: t.dtype, device: t.device, ...o });
export const zerosLike = (t: Tensor, opts: CreateOptions = {}) => zeros(t.shape, likeOpts(t, opts));
export const onesLike = (t: Tensor, opts: CreateOptions = {}) => ones(t.shape, likeOpts(t, opts));
export const fullLike = (t: Tensor, value: number | boolean, opts: CreateOptions = {}) => full(t.shape, value, likeOpts(t, opts));
export const randLike = (t: Tensor, opts: RandomOptions = {}) => rand(t.shape, likeOpts(t, opts));
export const randnLike = (t: Tensor, opts: RandomOptions = {}) => randn(t.shape, likeOpts(t, opts));

/** Values start, start+step, … below end (arange(end) starts at 0). */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw new ArgumentError(`arange: step must be finite and non-zero, got ${step}`);
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const allInt = [lo, hi, step].every(Number.isInteger);
  const dtype = opts.dtype ?? (allInt ? 'int32' : getDefaultDtype());
  return finish(prim.upload(backendFor(opts), Array.from({ length: n }, (_, i) => lo + i * step), [n], dtype), opts, 'arange');
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ArgumentError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends so the last value is exactly `end`, like PyTorch.
  const vals = Array.from({ length: steps }, (_, i) => (i < steps / 2 ? start + i * delta : end - (steps - 1 - i) * delta));
  return finish(prim.upload(backendFor(opts), vals, [steps], opts.dtype ?? getDefaultDtype()), opts, 'linspace');
}

/** Identity matrix n × m (m defaults to n). */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  checkShape('eye', [n, m]);
  const vals = Array.from({ length: n * m }, (_, i) => +(Math.floor(i / m) === i % m));
  return finish(prim.upload(backendFor(opts), vals, [n, m], opts.dtype ?? getDefaultDtype()), opts, 'eye');
}

function randomTensor(op: string, kind: 'uniform' | 'normal', shape: Shape, opts: RandomOptions): Tensor {
  checkShape(op, shape);
  const dtype = opts.dtype ?? getDefaultDtype();
  if (!isFloat(dtype)) throw new DTypeError(`${op}: dtype must be floating-point, got ${dtype}`);
  const backend = backendFor(opts);
  const n = numel(shape);
  const { key, start } = (opts.generator ?? defaultGenerator).next(n);
  if (dtype === 'float16') return finish(halfRandom(backend, kind, shape, key, start), opts, op);
  return finish(Tensor.fromBuffer(backend, backend.random(n, kind, key, start, dtype), shape, dtype), opts, op);
}

/**
 * float16 draws come from the float32 stream, so every backend gives the same numbers without a half kernel:
 * normal values are rounded to half; uniform ones keep their top 11 bits (⌊u·2048⌋/2048, exact in half), because
 * rounding all 24 bits could give 1.0 and leave [0, 1).
 */
function halfRandom(backend: Backend, kind: 'uniform' | 'normal', shape: Shape, key: number, start: number): Tensor {
  const u = Tensor.fromBuffer(backend, backend.random(numel(shape), kind, key, start, 'float32'), shape, 'float32');
  if (kind === 'normal') {
    const h = prim.cast(u, 'float16');
    u.dispose();
    return h;
  }
  const scale = prim.scalar(2048, 'float32', backend);
  const scaled = prim.binary('mul', u, scale, 'float32');
  const floored = prim.unary('floor', scaled);
  const h = prim.binary('div', floored, scale, 'float32', 'float16');
  for (const t of [u, scale, scaled, floored]) t.dispose();
  return h;
}

/** Uniform in [0, 1). */
export const rand = (shape: Shape, opts: RandomOptions = {}) => randomTensor('rand', 'uniform', shape, opts);
/** Standard normal. */
export const randn = (shape: Shape, opts: RandomOptions = {}) => randomTensor('randn', 'normal', shape, opts);

/** Uniform integers in [low, high). */
export function randint(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low)
    throw new ArgumentError(`randint: expected integers low < high, got ${low} and ${high}`);
  const u = randomTensor('randint', 'uniform', shape, { ...opts, dtype: 'float32', requiresGrad: false });
  const scaled = prim.unary('floor', prim.binary('mul', u, prim.scalar(high - low, 'float32', u.backend), 'float32'));
  const shifted = prim.binary('add', prim.cast(scaled, 'int32'), prim.scalar(low, 'int32', u.backend), 'int32');
  // Guard the float rounding edge so values stay below high.
  return prim.binary('minimum', shifted, prim.scalar(high - 1, 'int32', u.backend), 'int32');
}

/** A random permutation of 0..n-1. */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`randperm: n must be a non-negative integer, got ${n}`);
  return argsort(rand([n], { ...opts, dtype: 'float32', requiresGrad: false }));
}
