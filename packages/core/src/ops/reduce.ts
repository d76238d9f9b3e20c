/** Reductions over one or more dims (keepdim like PyTorch) and the gradients that spread them back. */
import { attach } from '../autograd/node.js';
import { noGrad } from '../autograd/mode.js';
import { floatOf, isFloat, type DType } from '../dtype.js';
import { ArgumentError, DTypeError, fmtShape, ShapeError } from '../errors.js';
import { contiguousStrides, normDim, normDims, numel, shapesEqual, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as prim from './prim.js';
import { where } from './elementwise.js';

export type Dims = number | readonly number[] | undefined;

/** The shape with reduced axes set to 1 (what keepdim returns). */
const keptShape = (shape: Shape, axes: readonly number[]) => shape.map((s, i) => (axes.includes(i) ? 1 : s));

/** A reduction result as keepdim asks: a view with 1s inserted (no copy). */
function shapeResult(out: Tensor, x: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  if (!keepdim) return out;
  const kept = keptShape(x.shape, axes);
  return out.withLayout(kept, contiguousStrides(kept), out.offset);
}

/** A gradient of a reduced result broadcast back to the input's shape. */
function spread(g: Tensor, x: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  const k = keepdim ? g : g.reshape(keptShape(x.shape, axes));
  return k.expand(x.shape);
}

/** Sums a broadcast gradient down to `shape` (the inverse of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new ShapeError(`sumTo: cannot reduce shape ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  const axes = g.shape.flatMap((s, i) => (i < lead || (shape[i - lead] === 1 && s !== 1) ? [i] : []));
  // Leading dims are summed away rather than kept and reshaped off: the sum is then the result itself, not a view
  // of it, so backward can adopt it as a leaf's .grad without a copy.
  const r = axes.length ? sum(g, axes, lead === 0) : g;
  return shapesEqual(r.shape, shape) ? r : r.reshape(shape);
}

const sumDtype = (d: DType): DType => (isFloat(d) ? d : 'int32');

export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = normDims('sum', dim, x.ndim);
  const out = shapeResult(prim.reduce('sum', x, axes, sumDtype(x.dtype)), x, axes, keepdim);
  return attach(out, 'sum', [x], (g) => [spread(g, x, axes, keepdim)]);
}

export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  if (!isFloat(x.dtype))
    throw new DTypeError(`mean: expected a floating-point input, got ${x.dtype}; cast first with .to('float32')`);
  const axes = normDims('mean', dim, x.ndim);
  const n = numel(axes.map((a) => x.shape[a]!));
  if (x.dtype === 'float16') {
    // Like PyTorch: half inputs are summed in float32 and rounded once, so a long mean neither overflows at 65504
    // nor rounds twice.
    const s = shapeResult(prim.reduce('sum', x, axes, 'float32'), x, axes, keepdim);
    return attach(s, 'sum', [x], (g) => [spread(g.to('float16'), x, axes, keepdim)]).div(n).to('float16');
  }
  return sum(x, axes, keepdim).div(n);
}

/** Product; the gradient is exact with zeros (product of all other elements, not out / x). */
export function prod(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = normDims('prod', dim, x.ndim);
  const out = shapeResult(prim.reduce('prod', x, axes, sumDtype(x.dtype)), x, axes, keepdim);
  return attach(out, 'prod', [x], (g) => {
    // Move reduced axes last and flatten them to n, then for each i multiply all j ≠ i via an [n, n] mask.
    const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const n = numel(axes.map((a) => x.shape[a]!));
    const flat = x.permute([...keep, ...axes]).reshape([...keep.map((i) => x.shape[i]!), n]);
    const eye = prim.upload(x.backend, Array.from({ length: n * n }, (_, i) => +(i % (n + 1) === 0)), [n, n], 'bool');
    const others = where(eye, 1, flat.unsqueeze(-2).expand([...flat.shape.slice(0, -1), n, n])).prod(-1);
    const inverse = new Array<number>(x.ndim);
    [...keep, ...axes].forEach((d, i) => (inverse[d] = i));
    const back = others.reshape([...keep.map((i) => x.shape[i]!), ...axes.map((a) => x.shape[a]!)]).permute(inverse);
    return [spread(g, x, axes, keepdim).mul(back)];
  });
}

/** Max over dims; ties share the gradient evenly (torch.amax). */
export function amax(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return extreme('amax', 'max', x, dim, keepdim);
}
export function amin(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return extreme('amin', 'min', x, dim, keepdim);
}
function extreme(name: string, op: 'max' | 'min', x: Tensor, dim: Dims, keepdim: boolean): Tensor {
  const axes = normDims(name, dim, x.ndim);
  checkNonEmpty(name, x, axes);
  const out = shapeResult(prim.reduce(op, x, axes, x.dtype), x, axes, keepdim);
  return attach(out, name, [x], (g) => {
    const mask = x.eq(spread(out.detach(), x, axes, keepdim)).to(g.dtype);
    const count = mask.sum(axes, true);
    return [spread(g, x, axes, keepdim).mul(mask).div(count)];
  }, [out]);
}

function checkNonEmpty(op: string, x: Tensor, axes: readonly number[]): void {
  if (axes.some((a) => x.shape[a] === 0))
    throw new ShapeError(`${op}: cannot reduce over a zero-size dim (input shape ${fmtShape(x.shape)}, dims ${fmtShape(axes)})`);
}

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/** Max along one dim with the index of the first maximum; the gradient goes to that index. */
export function maxDim(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return extremeDim('max', x, dim, keepdim);
}
export function minDim(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return extremeDim('min', x, dim, keepdim);
}
function extremeDim(op: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const d = normDim(op, dim, x.ndim);
  checkNonEmpty(op, x, x.ndim === 0 ? [] : [d]); // so the error names max/min, not argmax/argmin
  const indices = argExtreme(op === 'max' ? 'argmax' : 'argmin', x, d, true);
  const values = x.gather(d, indices);
  return keepdim ? { values, indices } : { values: values.squeeze(d), indices: indices.squeeze(d) };
}

export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme('argmax', x, dim, keepdim);
}
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme('argmin', x, dim, keepdim);
}
function argExtreme(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) {
    const flat = x.reshape([-1]);
    checkNonEmpty(op, flat, [0]);
    const r = prim.reduce(op, flat, [0], 'int32');
    return keepdim ? r.reshape(x.shape.map(() => 1)) : r;
  }
  const d = normDim(op, dim, x.ndim);
  const axes = x.ndim === 0 ? [] : [d];
  checkNonEmpty(op, x, axes);
  return shapeResult(prim.reduce(op, x, axes, 'int32'), x, axes, keepdim);
}

/** True where every element along dims is non-zero. */
export function all(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = normDims('all', dim, x.ndim);
  return shapeResult(prim.reduce('min', prim.cast(x, 'bool'), axes, 'bool'), x, axes, keepdim);
}
export function any(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = normDims('any', dim, x.ndim);
  return shapeResult(prim.reduce('max', prim.cast(x, 'bool'), axes, 'bool'), x, axes, keepdim);
}

export interface VarOptions {
  /** Bessel's correction: divide by n − correction (default 1, PyTorch's unbiased estimate). */
  correction?: number;
  keepdim?: boolean;
}

export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  const { correction = 1, keepdim = false } = opts;
  const axes = normDims('var', dim, x.ndim);
  const n = numel(axes.map((a) => x.shape[a]!));
  const xf = isFloat(x.dtype) ? x : x.to(floatOf(x.dtype));
  const centered = xf.sub(xf.mean(axes, true));
  return centered.square().sum(axes, keepdim).div(Math.max(0, n - correction));
}
/** √var; the gradient is 0 (not NaN) where the std is 0, like PyTorch. */
export function std(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  const v = variance(x, dim, opts);
  const out = prim.unary('sqrt', v);
  return attach(out, 'std', [v], (g) => [where(out.eq(0), 0, g.div(where(out.eq(0), 1, out).mul(2)))], [out]);
}

/** log Σ exp(x), stabilized by subtracting the (detached) max. */
export function logsumexp(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const axes = normDims('logsumexp', dim, x.ndim);
  const xf = isFloat(x.dtype) ? x : x.to(floatOf(x.dtype));
  const m = noGrad(() => {
    const raw = amax(xf, axes, true);
    return where(raw.abs().eq(Infinity), 0, raw);
  });
  const r = xf.sub(m).exp().sum(axes, true).log().add(m);
  return keepdim ? r : r.squeeze(axes);
}

/**
 * Vector norm over dims: p = 2 (default, 'fro'), 1, Infinity, -Infinity, 0 (count of non-zeros) or any other p.
 * The 2-norm's gradient is 0 (not NaN) at the zero vector, like PyTorch.
 */
export function norm(x: Tensor, p: number | 'fro' = 2, dim?: Dims, keepdim = false): Tensor {
  if (!isFloat(x.dtype)) throw new DTypeError(`norm: expected a floating-point input, got ${x.dtype}`);
  const axes = normDims('norm', dim, x.ndim);
  const q = p === 'fro' ? 2 : p;
  if (typeof q !== 'number' || Number.isNaN(q)) throw new ArgumentError(`norm: invalid order p = ${p}`);
  if (q === 1) return x.abs().sum(axes, keepdim);
  if (q === Infinity) return x.abs().amax(axes, keepdim);
  if (q === -Infinity) return x.abs().amin(axes, keepdim);
  if (q === 0) {
    // A count: piecewise constant, so a zero gradient (PyTorch's result still requires grad).
    const count = x.ne(0).to(x.dtype).sum(axes, keepdim);
    return attach(count, 'norm', [x], () => [x.zerosLike()]);
  }
  if (q !== 2) {
    // (Σ|x|^p)^(1/p) with PyTorch's VJP sign(x)·|x|^(p−1)·g / norm^(p−1), taken as 0 at x = 0 and where norm = 0.
    const out = noGrad(() => x.abs().pow(q).sum(axes, keepdim).pow(1 / q));
    return attach(out, 'norm', [x], (g) => {
      const y = spread(out, x, axes, keepdim);
      const scale = where(y.eq(0), 0, spread(g, x, axes, keepdim).div(where(y.eq(0), 1, y).pow(q - 1)));
      const zero = x.eq(0);
      const scaled = where(zero, 0, x.sign().mul(where(zero, 1, x.abs()).pow(q - 1)));
      return [scaled.mul(scale)];
    }, [out]);
  }
  const out = shapeResult(prim.unary('sqrt', prim.reduce('sum', prim.binary('mul', x, x, x.dtype), axes, x.dtype)), x, axes, keepdim);
  return attach(out, 'norm', [x], (g) => {
    const y = spread(out, x, axes, keepdim);
    const safe = where(y.eq(0), 1, y);
    return [spread(g, x, axes, keepdim).mul(x).div(safe)];
  }, [out]);
}
