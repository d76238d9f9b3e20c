/**
 * Thin wrappers that run one backend primitive and wrap the result as a Tensor. No autograd happens here: the
 * differentiable ops in the sibling files call these for their forward pass and attach their own VJPs.
 */
import type { Backend, BinaryOp, ReduceOp, UnaryOp } from '../backend/interface.js';
import { arrayFor, type DType } from '../dtype.js';
import { DeviceError, fmtShape, ShapeError } from '../errors.js';
import { broadcastShapes, numel, shapesEqual, type Shape } from '../shape.js';
import { defaultBackend, Tensor, type TensorLike } from '../tensor.js';
import { checkCaptureBackend } from '../capture-mode.js';

/** The backend shared by all tensors of an op; a clear error when they live on different devices. */
export function backendOf(op: string, ...ts: (TensorLike | null | undefined)[]): Backend {
  let b: Backend | undefined;
  for (const t of ts) {
    if (!(t instanceof Tensor)) continue;
    if (b && t.backend !== b)
      throw new DeviceError(`${op}: expected all tensors on the same device, got '${b.name}' and '${t.backend.name}'; move one with .to()`);
    b = t.backend;
  }
  return b ?? defaultBackend();
}

/** A 0-dim tensor holding a JS scalar. */
export function scalar(value: number | boolean, dtype: DType, backend: Backend): Tensor {
  const data = arrayFor(dtype, 1);
  data[0] = +value;
  return Tensor.fromBuffer(backend, backend.upload(data, dtype), [], dtype);
}

/** A tensor from a TensorLike, on `backend`, with `dtype` for scalars (tensors keep theirs). */
export function asTensor(x: TensorLike, dtype: DType, backend: Backend): Tensor {
  return x instanceof Tensor ? x : scalar(x, dtype, backend);
}

/** A zero-copy view of t broadcast to `shape` (stride 0 on new and size-1 dims). */
export function expandLayout(op: string, t: Tensor, shape: Shape): Tensor {
  if (shapesEqual(t.shape, shape)) return t;
  const lead = shape.length - t.ndim;
  if (lead < 0) throw new ShapeError(`${op}: cannot expand shape ${fmtShape(t.shape)} to ${fmtShape(shape)} (fewer dims)`);
  const strides = shape.map((s, i) => {
    if (i < lead) return 0;
    const own = t.shape[i - lead]!;
    if (own === s) return t.strides[i - lead]!;
    if (own === 1) return 0;
    throw new ShapeError(`${op}: cannot expand shape ${fmtShape(t.shape)} to ${fmtShape(shape)}: dim ${i} has size ${own}, expected 1 or ${s}`);
  });
  return t.withLayout(shape, strides, t.offset);
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return Tensor.fromBuffer(x.backend, x.backend.copy(x.layout('to'), dtype), x.shape, dtype);
}

/** A contiguous copy (always a new buffer). */
export function copy(x: Tensor, dtype: DType = x.dtype): Tensor {
  return Tensor.fromBuffer(x.backend, x.backend.copy(x.layout('contiguous'), dtype), x.shape, dtype);
}

export function fill(backend: Backend, shape: Shape, value: number, dtype: DType): Tensor {
  return Tensor.fromBuffer(backend, backend.fill(numel(shape), value, dtype), shape, dtype);
}

export function unary(op: UnaryOp, x: Tensor, outDtype: DType = x.dtype): Tensor {
  return Tensor.fromBuffer(x.backend, x.backend.unary(op, x.layout(op), outDtype), x.shape, outDtype);
}

/**
 * Runs a kernel call with a collector for the temporaries it needs (dtype casts, broadcast views) and releases them
 * right after the call. A queued backend must keep a freed buffer alive until work already issued has used it.
 */
function withTemps<T>(fn: (prep: (t: Tensor, dtype: DType, shape?: Shape) => Tensor) => T): T {
  const temps: Tensor[] = [];
  try {
    // An unnamed callback: tsx (esbuild keepNames) would add a defineProperty per call to a named closure.
    return fn((t, dtype, shape) => prepTemp(temps, t, dtype, shape));
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** t cast to dtype and broadcast to shape, with any new tensor recorded in temps. */
function prepTemp(temps: Tensor[], t: Tensor, dtype: DType, shape?: Shape): Tensor {
  const c = cast(t, dtype);
  if (c !== t) temps.push(c);
  const e = shape ? expandLayout('broadcast', c, shape) : c;
  if (e !== c) temps.push(e);
  return e;
}

/** Broadcasts, casts both inputs to `inDtype`, and runs a binary primitive. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor, inDtype: DType, outDtype: DType = inDtype): Tensor {
  const backend = backendOf(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  return withTemps((prep) => {
    const [va, vb] = [prep(a, inDtype, shape).layout(op), prep(b, inDtype, shape).layout(op)];
    return Tensor.fromBuffer(backend, backend.binary(op, va, vb, outDtype), shape, outDtype);
  });
}

export function where(cond: Tensor, a: Tensor, b: Tensor, dtype: DType): Tensor {
  const backend = backendOf('where', cond, a, b);
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  return withTemps((prep) => {
    const v = (t: Tensor, d: DType) => prep(t, d, shape).layout('where');
    return Tensor.fromBuffer(backend, backend.where(v(cond, 'bool'), v(a, dtype), v(b, dtype), dtype), shape, dtype);
  });
}

/** Reduces sorted, unique `axes`; the result drops them (keepdim is a view added by the caller). */
export function reduce(op: ReduceOp, x: Tensor, axes: readonly number[], outDtype: DType): Tensor {
  const shape = x.shape.filter((_, d) => !axes.includes(d));
  return Tensor.fromBuffer(x.backend, x.backend.reduce(op, x.layout(op), axes, outDtype), shape, outDtype);
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const backend = backendOf('gather', x, index);
  return withTemps((prep) =>
    Tensor.fromBuffer(backend, backend.gather(x.layout('gather'), dim, prep(index, 'int32').layout('gather')), index.shape, x.dtype),
  );
}

export function scatter(mode: 'set' | 'add', base: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const backend = backendOf('scatter', base, index, src);
  return withTemps((prep) => {
    const buf = backend.scatter(mode, base.layout('scatter'), dim, prep(index, 'int32').layout('scatter'), prep(src, base.dtype).layout('scatter'));
    return Tensor.fromBuffer(backend, buf, base.shape, base.dtype);
  });
}

/** Writes src (broadcast to dst's shape) into dst's storage in place and bumps its version. */
export function assign(dst: Tensor, src: Tensor): void {
  checkCaptureBackend('copy_', dst.backend);
  const backend = backendOf('copy_', dst, src);
  withTemps((prep) => backend.assign(dst.layout('copy_'), prep(src, dst.dtype, dst.shape).layout('copy_')));
  dst.storage.version++;
}

/** Host data → tensor. */
export function upload(backend: Backend, data: ArrayLike<number>, shape: Shape, dtype: DType): Tensor {
  const arr = arrayFor(dtype, data.length);
  for (let i = 0; i < data.length; i++) arr[i] = data[i]!;
  return Tensor.fromBuffer(backend, backend.upload(arr, dtype), shape, dtype);
}
