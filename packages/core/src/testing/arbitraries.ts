/**
 * fast-check arbitraries for property tests of tensor code: shapes, broadcast-compatible shape tuples, tensors with
 * controlled values, and tensors whose memory layout is not contiguous (transposed, stepped, flipped, offset or
 * expanded views) while their logical shape and values are what was asked for.
 *
 * Tensors are created when fast-check generates a value, on the backend current at that time (or `device`).
 */
import fc from 'fast-check';
import { noGrad } from '../autograd/mode.js';
import { isFloat, type DType } from '../dtype.js';
import { ArgumentError } from '../errors.js';
import { tensor, zeros } from '../ops/creation.js';
import { numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import '../ops/methods.js';

/** Bounds for generated shapes. */
export interface ShapeOptions {
  /** Fewest dims (default 0: scalars included). */
  minDims?: number;
  /** Most dims (default 3). */
  maxDims?: number;
  /** Smallest size of a dim (default 1; 0 allows empty tensors). */
  minSide?: number;
  /** Largest size of a dim (default 4). */
  maxSide?: number;
  /** Largest number of elements (default 24); larger draws are shrunk dim by dim. */
  maxSize?: number;
}

/** Shapes (arrays of dim sizes) within the given bounds. */
export function shapeArb(opts: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minDims = 0, maxDims = 3, minSide = 1, maxSide = 4, maxSize = 24 } = opts;
  if (minDims > maxDims || minSide > maxSide) throw new ArgumentError(`shapeArb: empty range in ${JSON.stringify(opts)}`);
  return fc.array(fc.integer({ min: minSide, max: maxSide }), { minLength: minDims, maxLength: maxDims }).map((s) => {
    // Shrink the largest dim until the size fits, keeping every dim ≥ max(minSide, 1).
    while (numel(s) > maxSize) {
      const i = s.indexOf(Math.max(...s));
      if (s[i]! <= Math.max(minSide, 1)) break;
      s[i]!--;
    }
    return s;
  });
}

/**
 * `count` shapes that broadcast together: a full shape is drawn (bounded by `opts`), then each operand drops some
 * leading dims and turns some dims into 1s.
 */
export function broadcastShapesArb(count: number, opts: ShapeOptions = {}): fc.Arbitrary<number[][]> {
  return shapeArb(opts).chain((full) => {
    const operand = fc
      .record({
        drop: fc.integer({ min: 0, max: full.length }),
        ones: fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
      })
      .map(({ drop, ones }) => full.slice(drop).map((s, i) => (ones[i + drop] ? 1 : s)));
    return fc.array(operand, { minLength: count, maxLength: count });
  });
}

/** Two shapes that broadcast together. */
export const broadcastPairArb = (opts: ShapeOptions = {}) => broadcastShapesArb(2, opts) as fc.Arbitrary<[number[], number[]]>;
/** Three shapes that broadcast together (for where, clamp with tensor bounds, …). */
export const broadcastTripleArb = (opts: ShapeOptions = {}) => broadcastShapesArb(3, opts) as fc.Arbitrary<[number[], number[], number[]]>;

/** How element values are drawn. */
export interface ValueOptions {
  /** Smallest value (default -2). */
  min?: number;
  /** Largest value (default 2). */
  max?: number;
  /** Keep |v| ≥ minAbs, away from kinks at 0 (abs, relu) and poles (reciprocal). Default 0. */
  minAbs?: number;
  /**
   * Draw values from the grid offset + k·step (k an integer) instead of (almost) continuously. Tensors drawn on
   * grids with different offsets (e.g. step 0.25, offsets 0 and 0.125) never tie with each other.
   */
  step?: number;
  /** Grid offset (default 0); only with `step`. */
  offset?: number;
  /** No two values of one tensor are equal (no ties for max, sort, topk). Uses a grid: `step`, or a fine default. */
  distinct?: boolean;
}

/** Resolution of the continuous value draws: 2^24 evenly spaced points over [min, max]. */
const FINE = 2 ** 24;

/** `n` numbers within the value options (see {@link ValueOptions}). */
export function valuesArb(n: number, opts: ValueOptions = {}): fc.Arbitrary<number[]> {
  const { min = -2, max = 2, minAbs = 0, distinct = false } = opts;
  if (!(max >= min)) throw new ArgumentError(`valuesArb: max ${max} is below min ${min}`);
  const allowed = (v: number) => v >= min && v <= max && Math.abs(v) >= minAbs;
  if (opts.step !== undefined || distinct) {
    const step = opts.step ?? (max - min) / Math.max(64, 4 * n);
    const offset = opts.offset ?? 0;
    const grid: number[] = [];
    for (let k = Math.ceil((min - offset) / step); offset + k * step <= max + 1e-12; k++) {
      const v = offset + k * step;
      if (allowed(v)) grid.push(v);
    }
    if (grid.length === 0 || (distinct && grid.length < n))
      throw new ArgumentError(`valuesArb: only ${grid.length} grid values fit ${JSON.stringify(opts)}, need ${distinct ? n : 1}`);
    const pick = fc.integer({ min: 0, max: grid.length - 1 });
    const ks = distinct ? fc.uniqueArray(pick, { minLength: n, maxLength: n }) : fc.array(fc.noBias(pick), { minLength: n, maxLength: n });
    return ks.map((idx) => idx.map((i) => grid[i]!));
  }
  // Continuous: a uniform position along [min, max] with the band (-minAbs, minAbs) cut out.
  const lo = Math.max(min, -minAbs);
  const hi = Math.min(max, minAbs);
  const band = hi > lo ? hi - lo : 0;
  const length = max - min - band;
  if (length < 0 || (band > 0 && length === 0)) throw new ArgumentError(`valuesArb: no values satisfy ${JSON.stringify(opts)}`);
  const u = fc.noBias(fc.integer({ min: 0, max: FINE }));
  return fc.array(u, { minLength: n, maxLength: n }).map((us) =>
    us.map((k) => {
      const v = min + (length * k) / FINE;
      return band > 0 && v >= lo ? v + band : v;
    }),
  );
}

/**
 * How a tensor is laid out in memory. All layouts have the requested logical shape and values:
 * - `contiguous`: row-major, offset 0.
 * - `transposed`: a permutation of a contiguous tensor with permuted shape.
 * - `stepped`: a slice with step 2, 3 or a negative step of a larger tensor.
 * - `flipped`: negative strides along some dims.
 * - `offset`: a narrow window (non-zero storage offset) of a larger tensor.
 * - `mixed`: transposed, stepped and flipped at once.
 * - `expanded`: some dims have stride 0 (expanded from size 1), so values repeat along them.
 */
export type Layout = 'contiguous' | 'transposed' | 'stepped' | 'flipped' | 'offset' | 'mixed' | 'expanded';

/** Every layout other than `contiguous`. */
export const NONCONTIGUOUS_LAYOUTS: readonly Layout[] = ['transposed', 'stepped', 'flipped', 'offset', 'mixed', 'expanded'];
/** All layouts. */
export const ALL_LAYOUTS: readonly Layout[] = ['contiguous', ...NONCONTIGUOUS_LAYOUTS];

/** Options of {@link tensorArb}: the value options plus shape, dtype, grad, device and layouts. */
export interface TensorArbOptions extends ValueOptions {
  /** A fixed shape; otherwise drawn from `shapeArb`. */
  shape?: readonly number[];
  /** Where shapes come from when `shape` is not given (default shapeArb()). */
  shapeArb?: fc.Arbitrary<readonly number[]>;
  /** Element type (default float64). Integer dtypes round the values. */
  dtype?: DType;
  /** Make the tensor a leaf that requires grad (default false). */
  requiresGrad?: boolean;
  /** Backend name; default: the current backend when the value is generated. */
  device?: string;
  /** Layouts to draw from (default ['contiguous']). `expanded` is skipped when values must be `distinct`. */
  layouts?: readonly Layout[];
}

interface LayoutParams {
  keys: number[];
  mask: boolean[];
  dim: number;
  step: number;
  pad: number;
}

const paramsArb = (ndim: number): fc.Arbitrary<LayoutParams> =>
  fc.record({
    keys: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: ndim, maxLength: ndim }),
    mask: fc.array(fc.boolean(), { minLength: ndim, maxLength: ndim }),
    dim: fc.integer({ min: 0, max: Math.max(0, ndim - 1) }),
    step: fc.constantFrom(2, 3, -2, -1),
    pad: fc.integer({ min: 0, max: 2 }),
  });

/** The dims an `expanded` layout broadcasts: the masked dims of size > 1 (at least one if any exists). */
function expandedDims(shape: readonly number[], mask: readonly boolean[]): number[] {
  const big = shape.flatMap((s, i) => (s > 1 ? [i] : []));
  const chosen = big.filter((i) => mask[i]);
  return chosen.length ? chosen : big.slice(0, 1);
}

/** Number of values a layout needs: fewer for `expanded`, whose broadcast dims repeat one value. */
function valueCount(shape: readonly number[], layout: Layout, p: LayoutParams): number {
  if (layout !== 'expanded') return numel(shape);
  const dims = expandedDims(shape, p.mask);
  return numel(shape.map((s, i) => (dims.includes(i) ? 1 : s)));
}

interface Recipe {
  perm: number[] | null;
  flip: number[];
  stepDim: number | null;
  step: number;
  narrowDim: number | null;
  pad: number;
}

function recipeFor(layout: Layout, shape: readonly number[], p: LayoutParams): Recipe {
  const nd = shape.length;
  const r: Recipe = { perm: null, flip: [], stepDim: null, step: p.step, narrowDim: null, pad: p.pad };
  if ((layout === 'transposed' || layout === 'mixed') && nd >= 2) {
    let perm = shape.map((_, i) => i).sort((a, b) => p.keys[a]! - p.keys[b]! || a - b);
    if (perm.every((d, i) => d === i)) perm = perm.map((_, i) => (i + 1) % nd);
    r.perm = perm;
  }
  if (layout === 'flipped' || layout === 'mixed') {
    const dims = p.mask.flatMap((m, i) => (m ? [i] : []));
    r.flip = dims.length ? dims : [p.dim];
  }
  if (layout === 'stepped' || layout === 'mixed') r.stepDim = p.dim;
  if (layout === 'offset') r.narrowDim = p.dim;
  return r;
}

/** Builds a strided view with the given logical shape and row-major `values`, on a zero-filled larger storage. */
function buildView(values: number[], shape: readonly number[], dtype: DType, device: string | undefined, layout: Layout, p: LayoutParams): Tensor {
  const dev = device ? { device } : {};
  const make = (vs: number[], s: readonly number[]) => tensor(Float64Array.from(vs), { shape: s, dtype, ...dev });
  if (layout === 'contiguous' || shape.length === 0 || numel(shape) === 0) return make(values, shape);
  if (layout === 'expanded') {
    const dims = expandedDims(shape, p.mask);
    if (!dims.length) return make(values, shape);
    return make(values, shape.map((s, i) => (dims.includes(i) ? 1 : s))).expand(shape);
  }
  const r = recipeFor(layout, shape, p);
  // Work back from the logical shape to the base shape: undo the permutation, then widen the stepped/narrowed dim.
  const permuted = [...shape];
  r.perm?.forEach((d, i) => (permuted[d] = shape[i]!));
  const base = [...permuted];
  if (r.stepDim !== null) base[r.stepDim] = r.pad + (permuted[r.stepDim]! - 1) * Math.abs(r.step) + 1 + 1;
  if (r.narrowDim !== null) base[r.narrowDim] = permuted[r.narrowDim]! + r.pad + 1 + 1;
  return noGrad(() => {
    const storage = zeros(base, { dtype, ...dev });
    let v = storage;
    if (r.stepDim !== null) {
      const d = r.stepDim;
      v = v.narrow(d, r.pad, (permuted[d]! - 1) * Math.abs(r.step) + 1).slice(d, null, null, r.step);
    }
    if (r.narrowDim !== null) v = v.narrow(r.narrowDim, r.pad + 1, permuted[r.narrowDim]!);
    if (r.flip.length) v = v.flip(r.flip);
    if (r.perm) v = v.permute(r.perm);
    const src = make(values, shape);
    v.copy_(src);
    src.dispose();
    return v;
  });
}

/** A compact description used by fast-check when it reports a counterexample. */
function describeTensor(t: Tensor, layout: Layout): string {
  let values: string;
  try {
    values = JSON.stringify(t.arraySync());
  } catch {
    values = '<values on device>';
  }
  return `tensor(${values}, shape=[${t.shape}], strides=[${t.strides}], offset=${t.offset}, layout=${layout}, dtype=${t.dtype}${t.requiresGrad ? ', requiresGrad' : ''})`;
}

/**
 * Tensors with controlled shape, values, dtype and memory layout.
 *
 * @example
 * // float64 leaves of up to 3 dims, values in [-1, 1], half of them non-contiguous:
 * fc.assert(fc.asyncProperty(tensorArb({ min: -1, max: 1, requiresGrad: true, layouts: ALL_LAYOUTS }), async (x) => {
 *   await gradcheck((x) => x.tanh(), [x]);
 * }));
 */
export function tensorArb(opts: TensorArbOptions = {}): fc.Arbitrary<Tensor> {
  const { dtype = 'float64', requiresGrad = false, device } = opts;
  if (requiresGrad && !isFloat(dtype)) throw new ArgumentError(`tensorArb: only float tensors can require grad, got ${dtype}`);
  const layouts = (opts.layouts ?? ['contiguous']).filter((l) => !(opts.distinct && l === 'expanded'));
  if (layouts.length === 0) throw new ArgumentError('tensorArb: no layout left to draw from');
  const shapes = opts.shape ? fc.constant([...opts.shape]) : (opts.shapeArb ?? shapeArb());
  return shapes.chain((shape) =>
    fc.tuple(fc.constantFrom(...layouts), paramsArb(shape.length)).chain(([layout, p]) =>
      valuesArb(valueCount(shape, layout, p), opts).map((raw) => {
        const values = isFloat(dtype) ? raw : dtype === 'bool' ? raw.map((v) => +(v !== 0)) : raw.map(Math.round);
        const view = buildView(values, shape, dtype, device, layout, p);
        const t = requiresGrad ? view.detach().requiresGrad_() : view;
        Object.defineProperty(t, fc.toStringMethod, { value: () => describeTensor(t, layout) });
        return t;
      }),
    ),
  );
}

/** Tensors like {@link tensorArb} whose layout is drawn from the non-contiguous ones (see {@link Layout}). */
export function stridedTensorArb(opts: TensorArbOptions = {}): fc.Arbitrary<Tensor> {
  return tensorArb({ layouts: NONCONTIGUOUS_LAYOUTS, ...opts });
}

/**
 * Several tensors whose shapes broadcast together: `shared` options apply to all, `each[i]` to operand i.
 *
 * @example
 * broadcastTensorsArb(2, { requiresGrad: true }, [{}, { min: 0.5, max: 2 }]) // [a, b] for a / b
 */
export function broadcastTensorsArb(
  count: number,
  shared: TensorArbOptions & ShapeOptions = {},
  each: readonly TensorArbOptions[] = [],
): fc.Arbitrary<Tensor[]> {
  return broadcastShapesArb(count, shared).chain((shapes) =>
    fc.tuple(...shapes.map((shape, i) => tensorArb({ ...shared, ...each[i], shape }))),
  );
}
