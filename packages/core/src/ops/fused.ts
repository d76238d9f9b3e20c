/**
 * Ops a backend may run as one fused kernel: softmax, logSoftmax, layerNorm, rmsNorm and scaled-dot-product
 * attention. Each is defined once here: its forward uses the backend's kernel when there is one and a composition
 * of primitives otherwise, and its single VJP is written in differentiable ops (the norms' VJP runs the backend's
 * fused `normBackward` instead when no higher-order graph is being built).
 */
import { isGradEnabled, noGrad } from '../autograd/mode.js';
import { attach } from '../autograd/node.js';
import { floatOf, isFloat, type DType } from '../dtype.js';
import { ArgumentError, DTypeError, fmtShape, ShapeError } from '../errors.js';
import { normDim } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as prim from './prim.js';

function asFloat(op: string, x: Tensor): Tensor {
  if (isFloat(x.dtype)) return x;
  if (x.dtype === 'bool') throw new DTypeError(`${op}: expected a floating-point input, got bool`);
  return prim.cast(x, floatOf(x.dtype));
}

/** Composed softmax over the last axis, on primitives. */
function softmaxLast(x: Tensor, log: boolean): Tensor {
  const fused = x.backend.fused.softmax;
  if (fused) return Tensor.fromBuffer(x.backend, fused.call(x.backend.fused, x.layout('softmax'), log), x.shape, x.dtype);
  if (x.dtype === 'float16') return viaFloat32(x, (xf) => softmaxLast(xf, log));
  const last = x.ndim - 1;
  const keep = (t: Tensor) => t.withLayout([...t.shape, 1], [...t.strides, 1], t.offset);
  const m = keep(prim.reduce('max', x, [last], x.dtype));
  // Rows that are all -inf would give NaN from (-inf) - (-inf); shift them by 0 instead.
  const safeM = prim.where(prim.binary('eq', m, prim.scalar(-Infinity, x.dtype, x.backend), x.dtype, 'bool'), prim.scalar(0, x.dtype, x.backend), m, x.dtype);
  const shifted = prim.binary('sub', x, safeM, x.dtype);
  const e = prim.unary('exp', shifted);
  const s = keep(prim.reduce('sum', e, [last], x.dtype));
  return log ? prim.binary('sub', shifted, prim.unary('log', s), x.dtype) : prim.binary('div', e, s, x.dtype);
}

function softmaxImpl(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const input = asFloat(op, x);
  if (input.ndim === 0) return log ? input.mul(0) : input.mul(0).add(1);
  const d = normDim(op, dim, input.ndim);
  const out = noGrad(() => softmaxLast(input.transpose(d, -1), log).transpose(d, -1));
  return attach(out, op, [input], (g) =>
    log ? [g.sub(out.exp().mul(g.sum(d, true)))] : [out.mul(g.sub(g.mul(out).sum(d, true)))],
  [out]);
}

export const softmax = (x: Tensor, dim = -1) => softmaxImpl(x, dim, false);
export const logSoftmax = (x: Tensor, dim = -1) => softmaxImpl(x, dim, true);

/** Flattens trailing `normalizedShape` dims into one, checking they match. */
function normalizedView(op: string, x: Tensor, normalizedShape: readonly number[]): { flat: Tensor; n: number } {
  const k = normalizedShape.length;
  if (k === 0 || k > x.ndim || normalizedShape.some((s, i) => s !== x.shape[x.ndim - k + i]))
    throw new ShapeError(`${op}: normalizedShape ${fmtShape(normalizedShape)} must equal the last dims of the input ${fmtShape(x.shape)}`);
  const n = normalizedShape.reduce((a, b) => a * b, 1);
  return { flat: x.reshape([...x.shape.slice(0, x.ndim - k), n]), n };
}

function checkParam(op: string, name: string, p: Tensor | null | undefined, normalizedShape: readonly number[]): Tensor | null {
  if (!p) return null;
  if (p.ndim !== normalizedShape.length || p.shape.some((s, i) => s !== normalizedShape[i]))
    throw new ShapeError(`${op}: ${name} has shape ${fmtShape(p.shape)}, expected ${fmtShape(normalizedShape)}`);
  return p;
}

const machineEps: Record<DType, number> = {
  float16: 0.0009765625,
  float32: 1.1920928955078125e-7,
  float64: 2.220446049250313e-16,
  int32: 0,
  bool: 0,
};

/**
 * The composed (unfused) forms compute float16 inputs in float32 and round the result once, as PyTorch's half
 * softmax and norms do; rounding every intermediate to half would lose bits and overflow sums of squares.
 */
function viaFloat32(x: Tensor, fn: (xf: Tensor) => Tensor): Tensor {
  const xf = prim.cast(x, 'float32');
  const y = fn(xf);
  const out = prim.cast(y, 'float16');
  xf.dispose();
  y.dispose();
  return out;
}
const f32 = (t: Tensor | null) => (t && t.dtype === 'float16' ? t.to('float32') : t);

/** Layer normalization over the trailing normalizedShape (torch.nn.functional.layer_norm). */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const input = asFloat('layerNorm', x);
  const w = checkParam('layerNorm', 'weight', weight, normalizedShape);
  const b = checkParam('layerNorm', 'bias', bias, normalizedShape);
  const { flat, n } = normalizedView('layerNorm', input, normalizedShape);
  const wf = w?.reshape([n]) ?? null;
  const bf = b?.reshape([n]) ?? null;
  const fused = input.backend.fused.layerNorm;
  const raw = fused
    ? Tensor.fromBuffer(input.backend, fused.call(input.backend.fused, flat.layout('layerNorm'), wf?.layout() ?? null, bf?.layout() ?? null, eps), flat.shape, input.dtype)
    : noGrad(() => {
        const compose = (xf: Tensor) => {
          const xhat = standardize(xf, eps, true);
          const scaled = wf ? xhat.mul(f32(wf)!) : xhat;
          return bf ? scaled.add(f32(bf)!) : scaled;
        };
        return flat.dtype === 'float16' ? viaFloat32(flat, compose) : compose(flat);
      });
  const inputs = [flat, ...(wf ? [wf] : []), ...(bf ? [bf] : [])];
  const out = attach(raw, 'layerNorm', inputs, (g) => {
    const viaKernel = fusedNormBackward(flat, wf, g, eps, true, !!wf?.requiresGrad, !!bf?.requiresGrad);
    if (viaKernel) return [viaKernel.dx, ...(wf ? [viaKernel.dweight] : []), ...(bf ? [viaKernel.dbias] : [])];
    const xhat = standardize(flat, eps, true);
    const gx = normBackward(g, xhat, wf, flat, eps, true, n);
    return [gx, ...(wf ? [g.mul(xhat).sum(lead(g))] : []), ...(bf ? [g.sum(lead(g))] : [])];
  });
  return out.reshape(input.shape);
}

/** RMS normalization over the trailing normalizedShape; eps defaults to the dtype's machine epsilon like PyTorch. */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, eps?: number): Tensor {
  const input = asFloat('rmsNorm', x);
  const e = eps ?? machineEps[input.dtype];
  const w = checkParam('rmsNorm', 'weight', weight, normalizedShape);
  const { flat, n } = normalizedView('rmsNorm', input, normalizedShape);
  const wf = w?.reshape([n]) ?? null;
  const fused = input.backend.fused.rmsNorm;
  const raw = fused
    ? Tensor.fromBuffer(input.backend, fused.call(input.backend.fused, flat.layout('rmsNorm'), wf?.layout() ?? null, e), flat.shape, input.dtype)
    : noGrad(() => {
        const compose = (xf: Tensor) => {
          const xhat = standardize(xf, e, false);
          return wf ? xhat.mul(f32(wf)!) : xhat;
        };
        return flat.dtype === 'float16' ? viaFloat32(flat, compose) : compose(flat);
      });
  const out = attach(raw, 'rmsNorm', [flat, ...(wf ? [wf] : [])], (g) => {
    const viaKernel = fusedNormBackward(flat, wf, g, e, false, !!wf?.requiresGrad, false);
    if (viaKernel) return [viaKernel.dx, ...(wf ? [viaKernel.dweight] : [])];
    const xhat = standardize(flat, e, false);
    return [normBackward(g, xhat, wf, flat, e, false, n), ...(wf ? [g.mul(xhat).sum(lead(g))] : [])];
  });
  return out.reshape(input.shape);
}

/**
 * The backend's fused norm backward, when it has one and no higher-order graph is being built (the kernel is not
 * differentiable); undefined otherwise, and for float16 or mixed dtypes, which take the composed path.
 */
function fusedNormBackward(
  x: Tensor, w: Tensor | null, g: Tensor, eps: number, center: boolean, weightGrad: boolean, biasGrad: boolean,
): { dx: Tensor; dweight: Tensor | null; dbias: Tensor | null } | undefined {
  const kernel = x.backend.fused.normBackward;
  const same = (t: Tensor | null) => !t || (t.dtype === x.dtype && t.backend === x.backend);
  if (!kernel || isGradEnabled() || x.dtype === 'float16' || !same(w) || !same(g)) return undefined;
  const op = center ? 'layerNorm' : 'rmsNorm';
  const r = kernel.call(x.backend.fused, x.layout(op), w?.layout(op) ?? null, g.layout(op), eps, center, { weight: weightGrad, bias: biasGrad });
  const n = x.shape.at(-1)!;
  const param = (b: typeof r.dx | null) => (b ? Tensor.fromBuffer(x.backend, b, [n], x.dtype) : null);
  return { dx: Tensor.fromBuffer(x.backend, r.dx, x.shape, x.dtype), dweight: param(r.dweight), dbias: param(r.dbias) };
}

const lead = (g: Tensor) => g.shape.slice(0, -1).map((_, i) => i);

/** (x − mean)·rstd for layerNorm, x·rms⁻¹ for rmsNorm, in differentiable ops over the last dim. */
function standardize(x: Tensor, eps: number, center: boolean): Tensor {
  const c = center ? x.sub(x.mean(-1, true)) : x;
  return c.mul(c.square().mean(-1, true).add(eps).rsqrt());
}

/** dL/dx of a normalization, given xhat: rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), without the mean term for RMS. */
function normBackward(g: Tensor, xhat: Tensor, w: Tensor | null, x: Tensor, eps: number, center: boolean, n: number): Tensor {
  const gh = w ? g.mul(w) : g;
  const c = center ? x.sub(x.mean(-1, true)) : x;
  const rstd = c.square().mean(-1, true).add(eps).rsqrt();
  let inner = gh.sub(xhat.mul(gh.mul(xhat).sum(-1, true).div(n)));
  if (center) inner = inner.sub(gh.sum(-1, true).div(n));
  return inner.mul(rstd);
}


export interface AttentionOptions {
  /** Bool mask (true = may attend) or additive float mask, broadcastable to [..., L, S]. */
  attnMask?: Tensor | null;
  /** Causal mask aligned top-left (query i sees keys 0..i). */
  isCausal?: boolean;
  /** Defaults to 1/√D. */
  scale?: number;
}

/**
 * softmax(q·kᵀ·scale + mask)·v over the last two dims; q [..., L, D], k [..., S, D], v [..., S, Dv], composed from
 * differentiable ops. The attention package builds the full PyTorch semantics (dropout, GQA, alignments) on it.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { attnMask = null, isCausal = false } = opts;
  if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2 || q.shape.at(-1) !== k.shape.at(-1) || k.shape.at(-2) !== v.shape.at(-2))
    throw new ShapeError(
      `scaledDotProductAttention: expected q [..., L, D], k [..., S, D], v [..., S, Dv], got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`,
    );
  if (isCausal && attnMask) throw new ArgumentError('scaledDotProductAttention: pass either attnMask or isCausal, not both');
  const scale = opts.scale ?? 1 / Math.sqrt(q.shape.at(-1)!);
  const [L, S] = [q.shape.at(-2)!, k.shape.at(-2)!];
  let scores = q.matmul(k.mT).mul(scale);
  if (isCausal) {
    const allowed = prim.upload(q.backend, Array.from({ length: L * S }, (_, i) => +(i % S <= Math.floor(i / S))), [L, S], 'bool');
    scores = scores.maskedFill(allowed.logicalNot(), -Infinity);
  } else if (attnMask) {
    scores = attnMask.dtype === 'bool' ? scores.maskedFill(attnMask.logicalNot(), -Infinity) : scores.add(attnMask);
  }
  return scores.softmax(-1).matmul(v);
}
