/**
 * Elementwise ops with broadcasting and PyTorch type promotion. Each op is its forward primitive plus a VJP written
 * in differentiable ops, so gradients of gradients come for free (gelu and silu run the backend's fused
 * `activationBackward` instead when no higher-order graph is being built).
 */
import { isGradEnabled } from '../autograd/mode.js';
import { attach } from '../autograd/node.js';
import type { ActivationKind, BinaryOp, UnaryOp } from '../backend/interface.js';
import { floatOf, isFloat, resultType, type DType, type PromotionArg } from '../dtype.js';
import { ArgumentError, DTypeError } from '../errors.js';
import { Tensor, type TensorLike } from '../tensor.js';
import * as prim from './prim.js';
import { sumTo } from './reduce.js';

const promoArg = (x: TensorLike): PromotionArg => (x instanceof Tensor ? x : x);

/** Turns both operands into tensors on one backend and returns the promoted dtype. */
function operands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor, DType] {
  const backend = prim.backendOf(op, a, b);
  const dtype = resultType(promoArg(a), promoArg(b));
  return [prim.asTensor(a, dtype, backend), prim.asTensor(b, dtype, backend), dtype];
}

/** Reduces a broadcast gradient back to an input's shape and dtype. */
function fit(g: Tensor | null, like: Tensor): Tensor | null {
  if (!g || !like.requiresGrad) return null;
  const s = sumTo(g, like.shape);
  return s.dtype === like.dtype ? s : s.to(like.dtype);
}

type BinaryGrad = (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null];

/** Releases the 0-dim tensors made from JS scalars once an op no longer needs its own handle (autograd keeps a reference). */
function releaseScalars(pairs: [TensorLike, Tensor][]): void {
  for (const [orig, t] of pairs) if (!(orig instanceof Tensor)) t.dispose();
}

function binaryOp(op: BinaryOp, a: TensorLike, b: TensorLike, grad: BinaryGrad | null, float = false): Tensor {
  const [ta, tb, promoted] = operands(op, a, b);
  try {
    return binaryOpOn(op, ta, tb, promoted, grad, float);
  } finally {
    releaseScalars([[a, ta], [b, tb]]);
  }
}

function binaryOpOn(op: BinaryOp, ta: Tensor, tb: Tensor, promoted: DType, grad: BinaryGrad | null, float: boolean): Tensor {
  const dtype = float ? floatOf(promoted) : promoted;
  if (op !== 'add' && op !== 'mul' && op !== 'maximum' && op !== 'minimum' && promoted === 'bool' && !float)
    throw new DTypeError(`${op}: not supported for two bool tensors; cast one with .to('int32') first`);
  const out = prim.binary(op, ta, tb, dtype);
  if (!grad) return out;
  return attach(out, op, [ta, tb], (g) => {
    const [ga, gb] = grad(g, ta, tb, out);
    return [fit(ga, ta), fit(gb, tb)];
  }, [out]);
}

function compareOp(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb, dtype] = operands(op, a, b);
  try {
    return prim.binary(op, ta, tb, dtype, 'bool');
  } finally {
    releaseScalars([[a, ta], [b, tb]]);
  }
}

export const add = (a: TensorLike, b: TensorLike, alpha = 1): Tensor =>
  alpha === 1 ? binaryOp('add', a, b, (g) => [g, g]) : add(a, mul(b, alpha));
export const sub = (a: TensorLike, b: TensorLike, alpha = 1): Tensor =>
  alpha === 1 ? binaryOp('sub', a, b, (g) => [g, g.neg()]) : sub(a, mul(b, alpha));
export const mul = (a: TensorLike, b: TensorLike): Tensor => binaryOp('mul', a, b, (g, x, y) => [g.mul(y), g.mul(x)]);
/** True division: integer inputs give a float result, like torch.div. */
export const div = (a: TensorLike, b: TensorLike): Tensor =>
  binaryOp('div', a, b, (g, x, y) => [g.div(y), g.neg().mul(x).div(y.square())], true);

/** a ** b. The base gets no gradient where b == 0, the exponent none where a == 0 and b >= 0 (PyTorch's rules). */
export const pow = (a: TensorLike, b: TensorLike): Tensor =>
  binaryOp('pow', a, b, (g, x, y, out) => [
    x.requiresGrad ? where(y.eq(0), 0, g.mul(y).mul(pow(x, y.sub(1)))) : null,
    y.requiresGrad ? where(x.eq(0).logicalAnd(y.ge(0)), 0, g.mul(out).mul(x.log())) : null,
  ]);

/** Elementwise max; on ties each input gets half the gradient (torch.maximum). NaN propagates. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor =>
  binaryOp('maximum', a, b, (g, x, y) => tieSplit(g, x.gt(y), x.eq(y)));
export const minimum = (a: TensorLike, b: TensorLike): Tensor =>
  binaryOp('minimum', a, b, (g, x, y) => tieSplit(g, x.lt(y), x.eq(y)));

function tieSplit(g: Tensor, firstWins: Tensor, tie: Tensor): [Tensor, Tensor] {
  const wa = firstWins.to(g.dtype).add(tie.to(g.dtype).mul(0.5));
  return [g.mul(wa), g.mul(wa.neg().add(1))];
}

export const eq = (a: TensorLike, b: TensorLike) => compareOp('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike) => compareOp('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike) => compareOp('lt', a, b);
export const le = (a: TensorLike, b: TensorLike) => compareOp('le', a, b);
export const gt = (a: TensorLike, b: TensorLike) => compareOp('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike) => compareOp('ge', a, b);

function logicalOp(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const backend = prim.backendOf(op, a, b);
  const ta = prim.asTensor(a, 'bool', backend);
  const tb = prim.asTensor(b, 'bool', backend);
  return prim.binary(op, prim.cast(ta, 'bool'), prim.cast(tb, 'bool'), 'bool');
}
export const logicalAnd = (a: TensorLike, b: TensorLike) => logicalOp('logicalAnd', a, b);
export const logicalOr = (a: TensorLike, b: TensorLike) => logicalOp('logicalOr', a, b);
export const logicalXor = (a: TensorLike, b: TensorLike) => logicalOp('logicalXor', a, b);
export const logicalNot = (x: Tensor) => prim.unary('logicalNot', prim.cast(x, 'bool'), 'bool');
export const isnan = (x: Tensor) => prim.unary('isnan', x, 'bool');

/** Selects a where cond is true, b elsewhere; both branches get their share of the gradient. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb, dtype] = operands('where', a, b);
  try {
    return whereOn(cond, ta, tb, dtype);
  } finally {
    releaseScalars([[a, ta], [b, tb]]);
  }
}

function whereOn(cond: Tensor, ta: Tensor, tb: Tensor, dtype: DType): Tensor {
  prim.backendOf('where', cond, ta, tb);
  const out = prim.where(cond, ta, tb, dtype);
  return attach(out, 'where', [ta, tb], (g) => [
    fit(ta.requiresGrad ? where(cond, g, 0) : null, ta),
    fit(tb.requiresGrad ? where(cond, 0, g) : null, tb),
  ]);
}

// ---- unary ------------------------------------------------------------------------------------------------------

type UnaryGrad = (g: Tensor, x: Tensor, y: Tensor) => Tensor;

/** Runs a unary primitive; float ops promote integer inputs to the default float dtype first. */
function unaryOp(op: UnaryOp, x: Tensor, grad: UnaryGrad | null, float = true): Tensor {
  const input = float && !isFloat(x.dtype) ? prim.cast(x, floatOf(x.dtype)) : x;
  const out = prim.unary(op, input);
  if (!grad) return out;
  return attach(out, op, [input], (g) => [grad(g, input, out)], [out]);
}

const zerosGrad: UnaryGrad = (g) => g.mul(0);

/**
 * An activation's VJP: the backend's fused `activationBackward` (one kernel instead of a dozen) when no
 * higher-order graph is being built, else the composed differentiable form. float16 stays composed.
 */
function activationGrad(kind: ActivationKind, composed: UnaryGrad): UnaryGrad {
  return (g, x, y) => {
    const fused = x.backend.fused.activationBackward;
    if (!fused || isGradEnabled() || x.dtype === 'float16' || g.dtype !== x.dtype || g.backend !== x.backend) return composed(g, x, y);
    const buf = fused.call(x.backend.fused, x.layout(kind), g.layout(kind), kind);
    return Tensor.fromBuffer(x.backend, buf, x.shape, x.dtype);
  };
}
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const neg = (x: Tensor) => unaryOp('neg', x, (g) => g.neg(), false);
export const abs = (x: Tensor) => unaryOp('abs', x, (g, x) => g.mul(x.sign()), false);
export const sign = (x: Tensor) => unaryOp('sign', x, zerosGrad, false);
export const floor = (x: Tensor) => unaryOp('floor', x, zerosGrad, false);
export const ceil = (x: Tensor) => unaryOp('ceil', x, zerosGrad, false);
export const round = (x: Tensor) => unaryOp('round', x, zerosGrad, false);
export const exp = (x: Tensor) => unaryOp('exp', x, (g, _x, y) => g.mul(y));
export const log = (x: Tensor) => unaryOp('log', x, (g, x) => g.div(x));
export const log1p = (x: Tensor) => unaryOp('log1p', x, (g, x) => g.div(x.add(1)));
export const expm1 = (x: Tensor) => unaryOp('expm1', x, (g, _x, y) => g.mul(y.add(1)));
export const sqrt = (x: Tensor) => unaryOp('sqrt', x, (g, _x, y) => g.div(y.mul(2)));
export const rsqrt = (x: Tensor) => unaryOp('rsqrt', x, (g, _x, y) => g.mul(y.pow(3)).mul(-0.5));
export const sin = (x: Tensor) => unaryOp('sin', x, (g, x) => g.mul(x.cos()));
export const cos = (x: Tensor) => unaryOp('cos', x, (g, x) => g.mul(x.sin()).neg());
export const tanh = (x: Tensor) => unaryOp('tanh', x, (g, _x, y) => g.mul(y.square().neg().add(1)));
export const sigmoid = (x: Tensor) => unaryOp('sigmoid', x, (g, _x, y) => g.mul(y).mul(y.neg().add(1)));
export const erf = (x: Tensor) => unaryOp('erf', x, (g, x) => g.mul(x.square().neg().exp()).mul(2 / Math.sqrt(Math.PI)));
export const reciprocal = (x: Tensor) => unaryOp('reciprocal', x, (g, _x, y) => g.mul(y.square()).neg());
export const square = (x: Tensor) => mul(x, x);
export const relu = (x: Tensor) => unaryOp('relu', x, (g, x) => g.mul(x.gt(0).to(g.dtype)), false);

/** GELU, exact (erf) or with the tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate === 'tanh')
    return unaryOp('geluTanh', x, activationGrad('geluTanh', (g, x) => {
      // x·x·x as PyTorch's backward writes it (pow with a scalar exponent is a much slower kernel).
      const inner = x.add(x.square().mul(x).mul(0.044715)).mul(SQRT_2_OVER_PI);
      const t = inner.tanh();
      const dInner = x.square().mul(3 * 0.044715).add(1).mul(SQRT_2_OVER_PI);
      return g.mul(t.add(1).mul(0.5).add(x.mul(0.5).mul(t.square().neg().add(1)).mul(dInner)));
    }));
  return unaryOp('gelu', x, activationGrad('gelu', (g, x) => {
    const cdf = x.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
    const pdf = x.square().mul(-0.5).exp().mul(INV_SQRT_2PI);
    return g.mul(cdf.add(x.mul(pdf)));
  }));
}

export const silu = (x: Tensor) =>
  unaryOp('silu', x, activationGrad('silu', (g, x) => {
    const s = x.sigmoid();
    return g.mul(s.mul(x.mul(s.neg().add(1)).add(1)));
  }));

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return where(x.gt(0), x, x.mul(negativeSlope));
}

/** log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold (torch.nn.functional.softplus). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const input = isFloat(x.dtype) ? x : prim.cast(x, floatOf(x.dtype));
  const bx = prim.binary('mul', input, prim.scalar(beta, input.dtype, input.backend), input.dtype);
  // Stable form relu(z) + log1p(exp(-|z|)), computed on primitives; the VJP below is exact at z = 0 too.
  const soft = prim.binary(
    'add',
    prim.unary('relu', bx),
    prim.unary('log1p', prim.unary('exp', prim.unary('neg', prim.unary('abs', bx)))),
    input.dtype,
  );
  const scaled = prim.binary('div', soft, prim.scalar(beta, input.dtype, input.backend), input.dtype);
  const over = prim.binary('gt', bx, prim.scalar(threshold, input.dtype, input.backend), input.dtype, 'bool');
  const out = prim.where(over, input, scaled, input.dtype);
  return attach(out, 'softplus', [input], (g) => [where(over, g, g.mul(input.mul(beta).sigmoid()))]);
}

/** Clamps to [min, max]; either bound may be omitted or be a tensor. Gradient passes where min ≤ x ≤ max. */
export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  if (min == null && max == null) throw new ArgumentError('clamp: at least one of min and max must be given');
  const backend = prim.backendOf('clamp', x, min, max);
  const dtype = resultType(x, ...[min, max].filter((v): v is TensorLike => v != null).map(promoArg));
  const lo = min == null ? null : prim.asTensor(min, dtype, backend);
  const hi = max == null ? null : prim.asTensor(max, dtype, backend);
  let y = prim.cast(x, dtype);
  if (lo) y = prim.binary('maximum', y, lo, dtype);
  if (hi) y = prim.binary('minimum', y, hi, dtype);
  const bounds = [lo, hi].filter((t): t is Tensor => t !== null);
  return attach(y, 'clamp', [x, ...bounds], (g) => {
    let inside = g;
    if (lo) inside = where(x.ge(lo), inside, 0);
    if (hi) inside = where(x.le(hi), inside, 0);
    // With min > max the output is max everywhere (min(max(x, lo), hi)), so only hi gets the gradient there.
    const toLo = lo && (hi ? x.lt(lo).logicalAnd(lo.lt(hi)) : x.lt(lo));
    const toHi = hi && (lo ? x.gt(hi).logicalOr(lo.gt(hi)) : x.gt(hi));
    return [
      fit(inside, x),
      ...(lo ? [fit(where(toLo!, g, 0), lo)] : []),
      ...(hi ? [fit(where(toHi!, g, 0), hi)] : []),
    ];
  });
}
