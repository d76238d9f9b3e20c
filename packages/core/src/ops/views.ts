/**
 * View ops: each returns a tensor sharing the input's storage with a new (shape, strides, offset); none copies,
 * except reshape/flatten when no view can express the result (like PyTorch).
 *
 * A view's gradient is the incoming gradient placed back at the viewed positions. Permutation-like views invert
 * directly; views that read each position at most once (narrow, select, slices, diagonal) write the gradient into
 * zeros through the same layout (one fill and one strided copy); asStrided, which may overlap, applies its layout
 * to a tensor of flat indices and scatter-adds the gradient at those indices.
 */
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import { attach } from '../autograd/node.js';
import { contiguousStrides, normDim, normDims, numel, shapesEqual, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { assign, copy, expandLayout, fill, upload } from './prim.js';
import { scatterAdd } from './indexing.js';
import { sumTo } from './reduce.js';

export interface Layout {
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}
type LayoutFn = (t: Layout) => Layout;

const layoutOf = (t: Tensor): Layout => ({ shape: t.shape, strides: t.strides, offset: t.offset });

/** 0, 1, …, n−1 (a plain loop: Int32Array.from with a map callback is ~100× slower on large views). */
function iota(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * Gradient of a view that reads each position of x at most once: zeros of x's shape with g written through the
 * view's layout. Differentiable: the gradient of this placement is the same view of the incoming gradient.
 */
function placeBack(name: string, shape: Shape, fn: LayoutFn): (g: Tensor) => Tensor {
  // Unnamed: every view op creates one, and tsx (esbuild keepNames) adds a defineProperty per named closure.
  return (g) => placeGradBack(name, shape, fn, g);
}

function placeGradBack(name: string, shape: Shape, fn: LayoutFn, g: Tensor): Tensor {
  const out = fill(g.backend, shape, 0, g.dtype);
  const l = fn(layoutOf(out));
  const window = out.withLayout(l.shape, l.strides, l.offset);
  assign(window, g);
  window.dispose();
  return attach(out, `${name}Backward`, [g], (gg) => [viewOp(name, gg, fn, placeBack(name, shape, fn))]);
}

/** Applies a layout function as a differentiable view. */
function viewOp(name: string, x: Tensor, fn: LayoutFn, back: (g: Tensor) => Tensor = placeBack(name, x.shape, fn)): Tensor {
  const l = fn(layoutOf(x));
  return attach(x.withLayout(l.shape, l.strides, l.offset), name, [x], (g) => [back(g)]);
}

// ---- reshape family ---------------------------------------------------------------------------------------------

/** Resolves one -1 in a requested shape and checks the element count. */
export function inferShape(op: string, shape: readonly number[], n: number, from: Shape): number[] {
  const out = [...shape];
  const neg = out.flatMap((s, i) => (s === -1 ? [i] : []));
  if (neg.length > 1) throw new ShapeError(`${op}: only one dimension can be -1, got ${fmtShape(shape)}`);
  for (const s of out)
    if (s !== -1 && (!Number.isInteger(s) || s < 0)) throw new ShapeError(`${op}: invalid size ${s} in shape ${fmtShape(shape)}`);
  if (neg.length === 1) {
    const known = out.reduce((a, s) => (s === -1 ? a : a * s), 1);
    if (known === 0 || n % known !== 0)
      throw new ShapeError(`${op}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${n} elements)`);
    out[neg[0]!] = n / known;
  }
  if (numel(out) !== n) throw new ShapeError(`${op}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${n} elements)`);
  return out;
}

/** Strides that express `newShape` over (shape, strides) without copying, or null when impossible. */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBase = strides.at(-1)!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d]!;
    // A chunk ends where the dims before it are not laid out contiguously with it.
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}

/** A view with a new shape; fails when the strides cannot express it (use reshape). */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape('view', shape, x.numel(), x.shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (!strides)
    throw new ShapeError(
      `view: shape ${fmtShape(target)} cannot be a view of a tensor of shape ${fmtShape(x.shape)} with strides ` +
        `${fmtShape(x.strides)} (not contiguous enough); use reshape(), which copies when needed`,
    );
  if (shapesEqual(target, x.shape)) return x;
  return viewOp('view', x, (t) => ({ shape: target, strides, offset: t.offset }), (g) => g.reshape(x.shape));
}

/** Like view, but copies (differentiably) when no view is possible. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape('reshape', shape, x.numel(), x.shape);
  if (viewStrides(x.shape, x.strides, target)) return view(x, target);
  return view(contiguous(x), target);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', startDim, x.ndim);
  const e = normDim('flatten', endDim, x.ndim);
  if (s > e) throw new ArgumentError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const d = normDim('unflatten', dim, x.ndim);
  const inner = inferShape('unflatten', sizes, x.shape[d]!, [x.shape[d]!]);
  return view(x, [...x.shape.slice(0, d), ...inner, ...x.shape.slice(d + 1)]);
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? x.shape.flatMap((s, i) => (s === 1 ? [i] : [])) : normDims('squeeze', dim, x.ndim);
  const drop = dims.filter((d) => x.shape[d] === 1);
  if (drop.length === 0) return x;
  return viewOp(
    'squeeze',
    x,
    (t) => ({ shape: t.shape.filter((_, i) => !drop.includes(i)), strides: t.strides.filter((_, i) => !drop.includes(i)), offset: t.offset }),
    (g) => g.reshape(x.shape),
  );
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  return viewOp(
    'unsqueeze',
    x,
    (t) => {
      const inner = d < t.shape.length ? t.strides[d]! * t.shape[d]! : 1;
      return { shape: [...t.shape.slice(0, d), 1, ...t.shape.slice(d)], strides: [...t.strides.slice(0, d), inner, ...t.strides.slice(d)], offset: t.offset };
    },
    (g) => g.reshape(x.shape),
  );
}

// ---- permutations -----------------------------------------------------------------------------------------------

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const p = dims.map((d) => normDim('permute', d, x.ndim));
  if (p.length !== x.ndim || new Set(p).size !== p.length)
    throw new ArgumentError(`permute: dims ${fmtShape(dims)} are not a permutation of ${x.ndim} dims (input shape ${fmtShape(x.shape)})`);
  if (p.every((d, i) => d === i)) return x;
  const inverse = new Array<number>(p.length);
  p.forEach((d, i) => (inverse[d] = i));
  return viewOp(
    'permute',
    x,
    (t) => ({ shape: p.map((d) => t.shape[d]!), strides: p.map((d) => t.strides[d]!), offset: t.offset }),
    (g) => g.permute(inverse),
  );
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.ndim === 0) return x;
  const a = normDim('transpose', dim0, x.ndim);
  const b = normDim('transpose', dim1, x.ndim);
  const p = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, p);
}

// ---- broadcasting -----------------------------------------------------------------------------------------------

/** Broadcasts to `shape` without copying; -1 keeps a dim's size. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.ndim;
  const target = shape.map((s, i) => (s === -1 && i >= lead ? x.shape[i - lead]! : s));
  if (target.some((s) => s < 0)) throw new ShapeError(`expand: invalid size -1 for a new leading dim in ${fmtShape(shape)}`);
  if (shapesEqual(target, x.shape)) return x;
  const v = expandLayout('expand', x, target);
  return attach(v, 'expand', [x], (g) => [sumTo(g, x.shape)]);
}

// ---- slicing ----------------------------------------------------------------------------------------------------

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim('narrow', dim, x.ndim);
  const size = x.shape[d]!;
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size)
    throw new ArgumentError(`narrow: start ${start} and length ${length} are out of range for dim ${dim} of size ${size} (shape ${fmtShape(x.shape)})`);
  if (s === 0 && length === size) return x;
  return viewOp('narrow', x, (t) => ({
    shape: t.shape.map((v, i) => (i === d ? length : v)),
    strides: t.strides,
    offset: t.offset + s * t.strides[d]!,
  }));
}

/** Removes `dim` by picking one index along it (negative counts from the end). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim('select', dim, x.ndim);
  const size = x.shape[d]!;
  if (!Number.isInteger(index) || index < -size || index >= size)
    throw new ArgumentError(`select: index ${index} is out of range for dim ${dim} of size ${size} (shape ${fmtShape(x.shape)})`);
  const i = index < 0 ? index + size : index;
  return viewOp('select', x, (t) => ({
    shape: t.shape.filter((_, k) => k !== d),
    strides: t.strides.filter((_, k) => k !== d),
    offset: t.offset + i * t.strides[d]!,
  }));
}

/** Python slice semantics along one dim: start/end clamp, negative values count from the end, step may be negative. */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  const d = normDim('slice', dim, x.ndim);
  const n = x.shape[d]!;
  if (!Number.isInteger(step) || step === 0) throw new ArgumentError(`slice: step must be a non-zero integer, got ${step}`);
  const norm = (v: number | null | undefined, dflt: number, lo: number, hi: number) => {
    if (v === null || v === undefined) return dflt;
    const w = v < 0 ? v + n : v;
    return Math.min(Math.max(w, lo), hi);
  };
  const [s, e] = step > 0 ? [norm(start, 0, 0, n), norm(end, n, 0, n)] : [norm(start, n - 1, -1, n - 1), norm(end, -1, -1, n - 1)];
  const len = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  if (step === 1 && s === 0 && len === n) return x;
  return viewOp('slice', x, (t) => ({
    shape: t.shape.map((v, i) => (i === d ? len : v)),
    strides: t.strides.map((v, i) => (i === d ? v * step : v)),
    offset: t.offset + (len > 0 ? s * t.strides[d]! : 0),
  }));
}

/** Reverses the order along dims, as a view with negative strides. */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  const ds = normDims('flip', dims, x.ndim).filter((d) => x.shape[d]! > 1);
  if (ds.length === 0) return x;
  return viewOp(
    'flip',
    x,
    (t) => ({
      shape: t.shape,
      strides: t.strides.map((v, i) => (ds.includes(i) ? -v : v)),
      offset: ds.reduce((o, d) => o + (t.shape[d]! - 1) * t.strides[d]!, t.offset),
    }),
    (g) => g.flip(ds),
  );
}

/** The diagonal of two dims, appended as the last dim (torch.diagonal). */
export function diagonal(x: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor {
  const a = normDim('diagonal', dim1, x.ndim);
  const b = normDim('diagonal', dim2, x.ndim);
  if (a === b) throw new ArgumentError(`diagonal: dim1 and dim2 must differ, both are ${a}`);
  return viewOp('diagonal', x, (t) => {
    const len = Math.max(0, offset >= 0 ? Math.min(t.shape[a]!, t.shape[b]! - offset) : Math.min(t.shape[a]! + offset, t.shape[b]!));
    const start = len === 0 ? 0 : offset >= 0 ? offset * t.strides[b]! : -offset * t.strides[a]!;
    const keep = t.shape.map((_, i) => i).filter((i) => i !== a && i !== b);
    return {
      shape: [...keep.map((i) => t.shape[i]!), len],
      strides: [...keep.map((i) => t.strides[i]!), t.strides[a]! + t.strides[b]!],
      offset: t.offset + start,
    };
  });
}

/**
 * A view with explicit size, strides and storage offset, relative to the storage (like torch.as_strided).
 * Its gradient accumulates over positions the view reads more than once.
 */
export function asStrided(x: Tensor, size: readonly number[], stride: readonly number[], storageOffset = x.offset): Tensor {
  if (size.length !== stride.length) throw new ShapeError(`asStrided: size ${fmtShape(size)} and stride ${fmtShape(stride)} differ in length`);
  const cap = x.storage.buffer.size;
  const hi = storageOffset + size.reduce((acc, s, i) => acc + (s > 0 ? (s - 1) * Math.max(stride[i]!, 0) : 0), 0);
  const lo = storageOffset + size.reduce((acc, s, i) => acc + (s > 0 ? (s - 1) * Math.min(stride[i]!, 0) : 0), 0);
  if (numel(size) > 0 && (lo < 0 || hi >= cap))
    throw new ArgumentError(`asStrided: size ${fmtShape(size)}, stride ${fmtShape(stride)}, offset ${storageOffset} reach outside storage of ${cap} elements`);
  const out = x.withLayout(size, stride, storageOffset);
  return attach(out, 'asStrided', [x], (g) => {
    // Map storage positions to x's flat indices, then read them through the same strides.
    const pos = fill(x.backend, [cap], -1, 'int32');
    const ids = upload(x.backend, iota(x.numel()), x.shape, 'int32');
    x.backend.assign(pos.withLayout(x.shape, x.strides, x.offset).layout('asStrided'), ids.layout('asStrided'));
    const idx = pos.withLayout(size, stride, storageOffset).reshape([-1]);
    const zeros = fill(x.backend, [x.numel()], 0, g.dtype);
    return [scatterAdd(zeros, 0, idx, g.reshape([-1])).reshape(x.shape)];
  });
}

// ---- copies and detaching ---------------------------------------------------------------------------------------

/** The tensor itself if contiguous, else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return clone(x);
}

/** A contiguous copy that autograd sees as the identity. */
export function clone(x: Tensor): Tensor {
  return attach(copy(x), 'clone', [x], (g) => [g]);
}

/** A tensor sharing storage with x, cut from the graph. */
export function detach(x: Tensor): Tensor {
  return x.withLayout(x.shape, x.strides, x.offset);
}
