/**
 * Optimizer updates as ops: one Adam/AdamW step on a parameter, in place. A backend with a fused `adamStep` kernel
 * does it in one pass (one dispatch per parameter instead of a dozen); otherwise the same arithmetic is composed
 * from in-place ops. Not differentiable: optimizers run outside the graph.
 */
import { isGradEnabled } from '../autograd/mode.js';
import type { AdamStepHyper } from '../backend/interface.js';
import { isFloat } from '../dtype.js';
import { AutogradError, DTypeError, fmtShape, ShapeError } from '../errors.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { maximum } from './elementwise.js';

/**
 * p, expAvg and expAvgSq updated in place by one Adam step with gradient `grad` (see AdamStepHyper). With
 * `maxExpAvgSq` (AMSGrad) the running maximum of the second moment, kept there, takes its place in the denominator;
 * that variant is always composed. Returns p.
 */
export function adamStep_(p: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, h: AdamStepHyper, maxExpAvgSq?: Tensor): Tensor {
  const all = [p, grad, expAvg, expAvgSq, ...(maxExpAvgSq ? [maxExpAvgSq] : [])];
  if (!all.every((t) => shapesEqual(t.shape, p.shape)))
    throw new ShapeError(`adamStep_: param, grad and moments must share one shape, got ${all.map((t) => fmtShape(t.shape)).join(', ')}`);
  if (!all.every((t) => t.dtype === p.dtype) || !isFloat(p.dtype))
    throw new DTypeError(`adamStep_: expected one float dtype for param, grad and moments, got ${all.map((t) => t.dtype).join(', ')}`);
  if (isGradEnabled() && p.requiresGrad)
    throw new AutogradError(`adamStep_: a tensor that requires grad (shape ${fmtShape(p.shape)}) cannot be updated in place while grad mode is on; wrap the update in noGrad()`);
  const fused = p.backend.fused.adamStep;
  const writable = [p, expAvg, expAvgSq];
  if (fused && !maxExpAvgSq && p.dtype !== 'float16' && all.every((t) => t.backend === p.backend && t.isContiguous()) && new Set(writable.map((t) => t.storage)).size === 3) {
    fused.call(p.backend.fused, p.layout('adamStep_'), grad.layout('adamStep_'), expAvg.layout('adamStep_'), expAvgSq.layout('adamStep_'), h);
    for (const t of writable) t.storage.version++;
    return p;
  }
  let d = h.maximize ? grad.neg() : grad;
  if (h.decoupled) p.mul_(1 - h.lr * h.weightDecay);
  else if (h.weightDecay !== 0) d = d.add(p, h.weightDecay);
  expAvg.mul_(h.beta1).add_(d, 1 - h.beta1);
  expAvgSq.mul_(h.beta2).add_(d.mul(d), 1 - h.beta2);
  if (maxExpAvgSq) maxExpAvgSq.copy_(maximum(maxExpAvgSq, expAvgSq));
  const denom = (maxExpAvgSq ?? expAvgSq).sqrt().div(h.bc2Sqrt).add(h.eps);
  p.add_(expAvg.div(denom), -h.stepSize);
  return p;
}
