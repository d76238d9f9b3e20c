/** Joining, splitting, padding and tiling. */
import { attach } from '../autograd/node.js';
import { resultType } from '../dtype.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import { normDim } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as prim from './prim.js';
import { indexSelect } from './indexing.js';

/** Concatenates along dim; all other dims must match. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ArgumentError('cat: expected a non-empty list of tensors');
  const backend = prim.backendOf('cat', ...tensors);
  for (const t of tensors) t.storage.checkAlive('cat'); // else the error would name the internal copy_
  const first = tensors[0]!;
  const d = normDim('cat', dim, first.ndim);
  for (const t of tensors)
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i]))
      throw new ShapeError(
        `cat: shapes ${tensors.map((x) => fmtShape(x.shape)).join(', ')} must match except in dim ${dim}`,
      );
  const dtype = resultType(...tensors);
  const sizes = tensors.map((t) => t.shape[d]!);
  const shape = first.shape.map((s, i) => (i === d ? sizes.reduce((a, b) => a + b, 0) : s));
  const out = prim.fill(backend, shape, 0, dtype);
  let start = 0;
  for (const t of tensors) {
    const len = t.shape[d]!;
    const region = out.withLayout(
      shape.map((s, i) => (i === d ? len : s)),
      out.strides,
      start * out.strides[d]!,
    );
    if (len > 0) prim.assign(region, t);
    start += len;
  }
  out.storage.version = 0;
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  return attach(out, 'cat', [...tensors], (g) => tensors.map((t, i) => (t.requiresGrad ? g.narrow(d, offsets[i]!, sizes[i]!).to(t.dtype) : null)));
}

/** Stacks equal-shaped tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ArgumentError('stack: expected a non-empty list of tensors');
  const first = tensors[0]!;
  for (const t of tensors)
    if (t.ndim !== first.ndim || t.shape.some((s, i) => s !== first.shape[i]))
      throw new ShapeError(`stack: all tensors must have the same shape, got ${tensors.map((x) => fmtShape(x.shape)).join(', ')}`);
  const d = normDim('stack', dim, first.ndim + 1);
  return cat(tensors.map((t) => t.unsqueeze(d)), d);
}

/** Splits into pieces of `size` (last may be smaller) or of the listed sizes; each piece is a view. */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim('split', dim, x.ndim);
  const n = x.shape[d]!;
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0)
      throw new ArgumentError(`split: split size must be a positive integer, got ${sizeOrSections}`);
    sizes = [];
    for (let s = 0; s < n; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - s));
    if (n === 0) sizes = [0];
  } else {
    sizes = [...sizeOrSections];
    if (sizes.reduce((a, b) => a + b, 0) !== n || sizes.some((s) => s < 0))
      throw new ShapeError(`split: sizes ${fmtShape(sizes)} must be non-negative and sum to ${n} (dim ${dim} of shape ${fmtShape(x.shape)})`);
  }
  let start = 0;
  return sizes.map((len) => {
    const piece = x.narrow(d, start, len);
    start += len;
    return piece;
  });
}

/** Splits into `chunks` nearly equal views (the last may be smaller, like torch.chunk). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ArgumentError(`chunk: chunks must be a positive integer, got ${chunks}`);
  const n = x.shape[normDim('chunk', dim, x.ndim)]!;
  return split(x, Math.max(1, Math.ceil(n / chunks)), dim);
}

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * Pads the last dims: pads = [left, right] for the last dim, then [top, bottom] for the one before, … (torch's
 * F.pad order). Negative pads crop. Non-constant modes gather edge values through indexSelect.
 */
export function pad(x: Tensor, pads: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim || pads.some((p) => !Number.isInteger(p)))
    throw new ArgumentError(`pad: pads ${fmtShape(pads)} must be integer pairs for at most ${x.ndim} dims (input ${fmtShape(x.shape)})`);
  let y = x;
  for (let k = 0; k < pads.length / 2; k++) {
    const d = x.ndim - 1 - k;
    let [lo, hi] = [pads[2 * k]!, pads[2 * k + 1]!];
    if (y.shape[d]! + lo + hi < 0) throw new ShapeError(`pad: padding ${lo}, ${hi} leaves a negative size for dim ${d} of size ${y.shape[d]}`);
    if (mode === 'circular' && (lo < 0 || hi < 0)) {
      // PyTorch crops first and wraps around the cropped tensor.
      y = y.narrow(d, Math.max(0, -lo), y.shape[d]! - Math.max(0, -lo) - Math.max(0, -hi));
      [lo, hi] = [Math.max(0, lo), Math.max(0, hi)];
    }
    const n = y.shape[d]!;
    if (mode === 'constant') y = padConstant(y, d, lo, hi, value);
    else {
      if (mode === 'reflect' && (lo >= n || hi >= n))
        throw new ArgumentError(`pad: reflect padding ${lo}, ${hi} must be smaller than dim ${d}'s size ${n}`);
      const idx = Array.from({ length: n + lo + hi }, (_, i) => sourceIndex(i - lo, n, mode));
      y = indexSelect(y, d, prim.upload(y.backend, idx, [idx.length], 'int32'));
    }
  }
  return y;
}

function sourceIndex(i: number, n: number, mode: PadMode): number {
  if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
  if (mode === 'circular') return ((i % n) + n) % n;
  // reflect (edge not repeated)
  const period = 2 * (n - 1);
  if (period === 0) return 0;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

function padConstant(x: Tensor, d: number, lo: number, hi: number, value: number): Tensor {
  // Crop first for negative pads, then place the rest inside a filled tensor.
  const cropLo = Math.max(0, -lo);
  const cropHi = Math.max(0, -hi);
  let y = cropLo || cropHi ? x.narrow(d, cropLo, x.shape[d]! - cropLo - cropHi) : x;
  const [pl, ph] = [Math.max(0, lo), Math.max(0, hi)];
  if (pl === 0 && ph === 0) return y;
  const shape = y.shape.map((s, i) => (i === d ? s + pl + ph : s));
  const out = prim.fill(y.backend, shape, value, y.dtype);
  const region = out.withLayout(y.shape, out.strides, pl * out.strides[d]!);
  prim.assign(region, y);
  out.storage.version = 0;
  const src = y;
  return attach(out, 'pad', [src], (g) => [g.narrow(d, pl, src.shape[d]!)]);
}

/** Tiles the tensor (torch.repeat): repeats[i] copies along dim i (leading repeats add dims). */
export function repeat(x: Tensor, repeats: readonly number[]): Tensor {
  if (repeats.length < x.ndim)
    throw new ArgumentError(`repeat: need at least ${x.ndim} repeat counts for shape ${fmtShape(x.shape)}, got ${repeats.length}`);
  const lead = repeats.length - x.ndim;
  const shape = [...new Array<number>(lead).fill(1), ...x.shape];
  const inter: number[] = [];
  const expanded: number[] = [];
  shape.forEach((s, i) => {
    inter.push(1, s);
    expanded.push(repeats[i]!, s);
  });
  return x.reshape(inter).expand(expanded).reshape(shape.map((s, i) => s * repeats[i]!));
}

/** Repeats each element along dim (flattened input when dim is omitted), like torch.repeat_interleave. */
export function repeatInterleave(x: Tensor, repeats: number | readonly number[], dim?: number): Tensor {
  const src = dim === undefined ? x.reshape([-1]) : x;
  const d = dim === undefined ? 0 : normDim('repeatInterleave', dim, x.ndim);
  const n = src.shape[d]!;
  if (typeof repeats === 'number') {
    const shape = [...src.shape];
    return src
      .unsqueeze(d + 1)
      .expand([...shape.slice(0, d + 1), repeats, ...shape.slice(d + 1)])
      .flatten(d, d + 1);
  }
  if (repeats.length !== n) throw new ShapeError(`repeatInterleave: got ${repeats.length} repeat counts for dim of size ${n}`);
  const idx = repeats.flatMap((r, i) => new Array<number>(r).fill(i));
  return indexSelect(src, d, prim.upload(src.backend, idx, [idx.length], 'int32'));
}
