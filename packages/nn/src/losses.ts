/**
 * Loss functions (torch.nn.functional forms), each with reduction 'mean' | 'sum' | 'none'. Class dim is 1 for
 * batched inputs ([N, C] or [N, C, d1, ...]) and 0 for an unbatched [C] input, as in PyTorch.
 */
import { ArgumentError, DTypeError, fmtShape, isFloat, ShapeError, Tensor, where } from '@tessera/core';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: string): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new ArgumentError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${r}'`);
  return r;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? loss : reduction === 'sum' ? loss.sum() : loss.mean();
}

function checkFloat(op: string, name: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new DTypeError(`${op}: ${name} must be floating-point, got ${t.dtype}`);
}

function checkSameShape(op: string, input: Tensor, target: Tensor): void {
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i]))
    throw new ShapeError(`${op}: target shape ${fmtShape(target.shape)} must equal the input shape ${fmtShape(input.shape)}`);
}

export interface ElementwiseLossOptions {
  reduction?: Reduction;
}

/** Mean squared error (x − y)². */
export function mseLoss(input: Tensor, target: Tensor, opts: ElementwiseLossOptions = {}): Tensor {
  checkSameShape('mseLoss', input, target);
  return reduce(input.sub(target).square(), checkReduction('mseLoss', opts.reduction ?? 'mean'));
}

/** Mean absolute error |x − y|. */
export function l1Loss(input: Tensor, target: Tensor, opts: ElementwiseLossOptions = {}): Tensor {
  checkSameShape('l1Loss', input, target);
  return reduce(input.sub(target).abs(), checkReduction('l1Loss', opts.reduction ?? 'mean'));
}

export interface BCEWithLogitsOptions extends ElementwiseLossOptions {
  /** Per-element rescaling weight, broadcast to the input. */
  weight?: Tensor | null;
  /** Weight of positive examples, broadcast along the last (class) dim. */
  posWeight?: Tensor | null;
}

/**
 * Binary cross entropy on logits, −w·[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))], in the stable form
 * (1 − y)·x + (1 + (pw − 1)·y)·softplus(−x) (torch.nn.functional.binary_cross_entropy_with_logits).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BCEWithLogitsOptions = {}): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  checkFloat(op, 'input', input);
  checkSameShape(op, input, target);
  const y = target.to(input.dtype);
  // softplus(−x) = max(−x, 0) + log1p(exp(−|x|)), exact at every magnitude.
  const softplusNeg = input.neg().clamp(0).add(input.abs().neg().exp().log1p());
  const scale = opts.posWeight ? opts.posWeight.sub(1).mul(y).add(1) : null;
  let loss = y.neg().add(1).mul(input).add(scale ? scale.mul(softplusNeg) : softplusNeg);
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce(loss, checkReduction(op, opts.reduction ?? 'mean'));
}

export interface NLLLossOptions extends ElementwiseLossOptions {
  /** Per-class weight [C]. */
  weight?: Tensor | null;
  /** Targets equal to this contribute nothing, and are left out of the mean's denominator (default −100). */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NLLLossOptions {
  /** Mixes the target with the uniform distribution: (1 − ε)·target + ε/C. */
  labelSmoothing?: number;
}

/** Moves the class dim of [N, C, d1, ...] (or [C]) last, giving [..., C]. */
function classLast(x: Tensor): Tensor {
  return x.ndim <= 2 ? x : x.permute([0, ...x.shape.slice(2).map((_, i) => i + 2), 1]);
}

function checkClassTarget(op: string, input: Tensor, target: Tensor): void {
  if (target.dtype !== 'int32') throw new DTypeError(`${op}: class-index targets must be int32, got ${target.dtype}`);
  const expected = input.ndim === 1 ? [] : [input.shape[0]!, ...input.shape.slice(2)];
  if (input.ndim < 1 || target.ndim !== expected.length || target.shape.some((s, i) => s !== expected[i]))
    throw new ShapeError(`${op}: for input ${fmtShape(input.shape)} ([N, C, d1, ...] or [C]) the target must have shape ${fmtShape(expected)}, got ${fmtShape(target.shape)}`);
}

function checkWeight(op: string, weight: Tensor | null | undefined, classes: number): void {
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== classes))
    throw new ShapeError(`${op}: weight must have shape [${classes}] (one per class), got ${fmtShape(weight.shape)}`);
}

/**
 * Negative log likelihood of int32 class targets given log-probabilities: −weight[y]·logp[y]. The mean divides by
 * the summed weights of the non-ignored targets (NaN when every target is ignored, as in PyTorch). A target
 * outside [0, C) other than ignoreIndex is an error raised by the backend's gather, as in PyTorch.
 */
export function nllLoss(logp: Tensor, target: Tensor, opts: NLLLossOptions = {}): Tensor {
  const op = 'nllLoss';
  checkFloat(op, 'input', logp);
  checkClassTarget(op, logp, target);
  const classes = logp.ndim === 1 ? logp.shape[0]! : logp.shape[1]!;
  checkWeight(op, opts.weight, classes);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const { perElement, weightOfTarget } = pickTargets(classLast(logp), target, opts.weight ?? null, opts.ignoreIndex ?? -100);
  const loss = perElement.neg();
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return loss.sum();
  return loss.sum().div(weightOfTarget.sum());
}

/** logp[..., y]·w[y] for each target, 0 where ignored, and the weight each target carries (0 where ignored). */
function pickTargets(logpLast: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number) {
  const keep = target.ne(ignoreIndex);
  // Ignored entries point at class 0 so the gather stays in range; their value is masked out below.
  const safe = where(keep, target, 0).to('int32');
  const picked = logpLast.gather(-1, safe.unsqueeze(-1)).squeeze(-1);
  const keepF = keep.to(logpLast.dtype);
  const weightOfTarget = weight ? weight.to(logpLast.dtype).indexSelect(0, safe.reshape([-1])).reshape(safe.shape).mul(keepF) : keepF;
  const perElement = picked.mul(weightOfTarget);
  return { perElement, weightOfTarget, keep: keepF };
}

/**
 * Cross entropy between logits and targets (torch.nn.functional.cross_entropy). Targets are int32 class indices
 * ([N, d1, ...], with ignoreIndex) or float class probabilities (the input's shape). labelSmoothing ε blends the
 * target with the uniform distribution; with weights, the mean over class indices divides by Σ weight[y] like
 * nllLoss, and the mean over probabilities divides by the number of elements N·d1·….
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  checkFloat(op, 'input', input);
  if (input.ndim < 1) throw new ShapeError(`${op}: input must be [C] or [N, C, d1, ...], got a scalar`);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new ArgumentError(`${op}: labelSmoothing must be within [0, 1], got ${eps}`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const classes = input.shape[classDim]!;
  checkWeight(op, opts.weight, classes);
  const logp = classLast(input.logSoftmax(classDim));
  const weight = opts.weight ? opts.weight.to(input.dtype) : null;

  if (isFloat(target.dtype)) {
    checkSameShape(op, input, target);
    let probs = classLast(target.to(input.dtype));
    if (eps > 0) probs = probs.mul(1 - eps).add(eps / classes);
    const terms = weight ? logp.mul(probs).mul(weight) : logp.mul(probs);
    const loss = terms.sum(-1).neg();
    return reduce(loss, reduction);
  }

  checkClassTarget(op, input, target);
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const { perElement, weightOfTarget, keep } = pickTargets(logp, target, weight, ignoreIndex);
  const nll = perElement.neg();
  const nllReduced = reduction === 'none' ? nll : reduction === 'sum' ? nll.sum() : nll.sum().div(weightOfTarget.sum());
  if (eps === 0) return nllReduced;
  // Smoothing term: −Σ_c w_c·logp_c, zero at ignored positions; its mean divides by Σ w[y] (weights) or the count.
  const smooth = (weight ? logp.mul(weight) : logp).sum(-1).neg().mul(keep);
  const smoothReduced = reduction === 'none' ? smooth : reduction === 'sum' ? smooth.sum() : smooth.sum().div(weightOfTarget.sum());
  return nllReduced.mul(1 - eps).add(smoothReduced.mul(eps / classes));
}
