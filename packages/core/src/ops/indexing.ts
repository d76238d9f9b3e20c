/** Indexing ops: gather/scatter and the ops composed from them, masks, triangles, cumsum, sorting. */
import { attach } from '../autograd/node.js';
import { isFloat } from '../dtype.js';
import { ArgumentError, DTypeError, fmtShape, ShapeError } from '../errors.js';
import { normDim } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import * as prim from './prim.js';
import { where } from './elementwise.js';

function checkIndex(op: string, index: Tensor): void {
  if (index.dtype !== 'int32') throw new DTypeError(`${op}: index must be int32, got ${index.dtype}`);
}

/** Checks torch's gather/scatter rule: index.size(d) ≤ input.size(d) for all d ≠ dim, same number of dims. */
function checkGatherShapes(op: string, x: Tensor, dim: number, index: Tensor, src?: Tensor): void {
  if (index.ndim !== x.ndim)
    throw new ShapeError(`${op}: index has ${index.ndim} dims but input has ${x.ndim} (input ${fmtShape(x.shape)}, index ${fmtShape(index.shape)})`);
  for (let d = 0; d < x.ndim; d++) {
    if (d !== dim && index.shape[d]! > x.shape[d]!)
      throw new ShapeError(`${op}: index ${fmtShape(index.shape)} is larger than input ${fmtShape(x.shape)} at dim ${d} (only dim ${dim} may differ)`);
    if (src && index.shape[d]! > src.shape[d]!)
      throw new ShapeError(`${op}: index ${fmtShape(index.shape)} is larger than src ${fmtShape(src.shape)} at dim ${d}`);
  }
}

/** out[i][j] = x[index[i][j]][j] for dim 0, and so on (torch.gather). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex('gather', index);
  const d = normDim('gather', dim, x.ndim);
  checkGatherShapes('gather', x, d, index);
  const out = prim.gather(x, d, index);
  return attach(out, 'gather', [x], (g) => [scatterAdd(prim.fill(x.backend, x.shape, 0, g.dtype), d, index, g)]);
}

/** A copy of x with src written at the positions index names along dim (duplicates: last write wins). */
export function scatter(x: Tensor, dim: number, index: Tensor, src: TensorLike): Tensor {
  checkIndex('scatter', index);
  const d = normDim('scatter', dim, x.ndim);
  const s = prim.asTensor(src, x.dtype, x.backend);
  const srcFull = s.ndim === 0 ? prim.expandLayout('scatter', s, index.shape) : s;
  checkGatherShapes('scatter', x, d, index, srcFull);
  const out = prim.scatter('set', x, d, index, srcFull);
  return attach(out, 'scatter', [x, srcFull], (g) => [
    x.requiresGrad ? scatter(g, d, index, 0) : null,
    srcFull.requiresGrad ? gather(g, d, index) : null,
  ]);
}

/** A copy of x with src added at the positions index names along dim (duplicates accumulate). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndex('scatterAdd', index);
  const d = normDim('scatterAdd', dim, x.ndim);
  checkGatherShapes('scatterAdd', x, d, index, src);
  const out = prim.scatter('add', x, d, index, src);
  return attach(out, 'scatterAdd', [x, src], (g) => [x.requiresGrad ? g : null, src.requiresGrad ? gather(g, d, index) : null]);
}

/** Index tensor of shape like `like` whose entries along `dim` come from a 1-D index. */
function broadcastIndex(op: string, index: Tensor, dim: number, like: readonly number[]): Tensor {
  checkIndex(op, index);
  if (index.ndim !== 1) throw new ShapeError(`${op}: index must be 1-D, got shape ${fmtShape(index.shape)}`);
  const shape = like.map((_, i) => (i === dim ? index.shape[0]! : 1));
  return prim.expandLayout(op, index.reshape(shape), like.map((s, i) => (i === dim ? index.shape[0]! : s)));
}

/** Picks entries of a 1-D int32 index along dim (torch.index_select). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim('indexSelect', dim, x.ndim);
  if (x.ndim === 0) return gather(x.reshape([1]), 0, index.reshape([-1])).reshape([]);
  return gather(x, d, broadcastIndex('indexSelect', index, d, x.shape));
}

/** x with source's slices added at the positions of a 1-D index along dim (torch.index_add). */
export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor, alpha = 1): Tensor {
  const d = normDim('indexAdd', dim, x.ndim);
  const expected = x.shape.map((s, i) => (i === d ? index.shape[0]! : s));
  if (source.ndim !== x.ndim || source.shape.some((s, i) => s !== expected[i]))
    throw new ShapeError(`indexAdd: source shape ${fmtShape(source.shape)} must be ${fmtShape(expected)} for input ${fmtShape(x.shape)} and ${index.shape[0]} indices`);
  return scatterAdd(x, d, broadcastIndex('indexAdd', index, d, expected), alpha === 1 ? source : source.mul(alpha));
}

/** value where mask is true, x elsewhere. */
export function maskedFill(x: Tensor, mask: Tensor, value: TensorLike): Tensor {
  if (mask.dtype !== 'bool') throw new DTypeError(`maskedFill: mask must be bool, got ${mask.dtype}`);
  const v = value instanceof Tensor ? value.to(x.dtype) : prim.scalar(value, x.dtype, x.backend);
  const out = where(mask, v, x);
  if (out.ndim !== x.ndim || out.shape.some((s, i) => s !== x.shape[i]))
    throw new ShapeError(`maskedFill: mask ${fmtShape(mask.shape)} must broadcast to the input's shape ${fmtShape(x.shape)}`);
  return out;
}

/** Bool mask over the last two dims: col − row ≥ k (upper) or ≤ k (lower). */
function triMask(x: Tensor, k: number, upper: boolean): Tensor {
  if (x.ndim < 2) throw new ShapeError(`${upper ? 'triu' : 'tril'}: expected at least 2 dims, got shape ${fmtShape(x.shape)}`);
  const [r, c] = [x.shape.at(-2)!, x.shape.at(-1)!];
  const data = Array.from({ length: r * c }, (_, i) => {
    const diff = (i % c) - Math.floor(i / c);
    return +(upper ? diff >= k : diff <= k);
  });
  return prim.upload(x.backend, data, [r, c], 'bool');
}
export const triu = (x: Tensor, diagonal = 0) => where(triMask(x, diagonal, true), x, 0);
export const tril = (x: Tensor, diagonal = 0) => where(triMask(x, diagonal, false), x, 0);

/**
 * One-hot int32 encoding. numClasses is required because reading the max would need a synchronous readback; an
 * out-of-range class is reported by the scatter kernel (as PyTorch raises), not turned into a zero row.
 */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  checkIndex('oneHot', indices);
  if (!Number.isInteger(numClasses) || numClasses < 1)
    throw new ArgumentError(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  const zeros = prim.fill(indices.backend, [...indices.shape, numClasses], 0, 'int32');
  const idx = indices.unsqueeze(-1);
  return prim.scatter('set', zeros, indices.ndim, idx, prim.fill(indices.backend, idx.shape, 1, 'int32'));
}

/** Inclusive prefix sum along dim; its gradient is the reversed cumsum of the gradient. */
export function cumsum(x: Tensor, dim: number): Tensor {
  const d = normDim('cumsum', dim, x.ndim);
  const dtype = isFloat(x.dtype) ? x.dtype : 'int32';
  if (x.ndim === 0) return x.to(dtype);
  const out = Tensor.fromBuffer(x.backend, x.backend.cumsum(x.layout('cumsum'), d, dtype), x.shape, dtype);
  return attach(out, 'cumsum', [x], (g) => [g.flip(d).cumsum(d).flip(d)]);
}

export interface SortResult {
  values: Tensor;
  indices: Tensor;
}

/** Stable sort along dim; values carry gradients back to the positions they came from. */
export function sort(x: Tensor, dim = -1, descending = false): SortResult {
  const d = x.ndim === 0 ? dim : normDim('sort', dim, x.ndim); // checked here so errors name sort, not argsort
  const indices = argsort(x, d, descending);
  return { values: x.ndim === 0 ? x : gather(x, d, indices), indices };
}

export function argsort(x: Tensor, dim = -1, descending = false): Tensor {
  if (x.ndim === 0) return prim.fill(x.backend, [], 0, 'int32');
  const d = normDim('argsort', dim, x.ndim);
  const last = x.transpose(d, -1).detach();
  const { values, indices } = x.backend.sort(last.layout('sort'), descending);
  x.backend.free(values); // only the order is used; the sorted values come from gather
  return Tensor.fromBuffer(x.backend, indices, last.shape, 'int32').transpose(d, -1);
}

/** The k largest (or smallest) entries along dim, sorted. */
export function topk(x: Tensor, k: number, dim = -1, largest = true): SortResult {
  const d = normDim('topk', dim, x.ndim);
  const n = x.ndim === 0 ? 1 : x.shape[d]!;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new ArgumentError(`topk: k = ${k} is out of range for dim ${dim} of size ${n}`);
  const indices = argsort(x, d, largest).narrow(d, 0, k);
  return { values: gather(x, d, indices), indices };
}
