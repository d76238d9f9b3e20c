/** Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), without reading values back to JS. */
import { ArgumentError, div, noGrad, scope, stack, Tensor, zeros } from '@tessera/core';

const gradsOf = (params: Tensor | Iterable<Tensor>): Tensor[] =>
  (params instanceof Tensor ? [params] : [...params]).flatMap((p) => (p.grad ? [p.grad] : []));

/**
 * Scales all gradients together so their combined norm is at most maxNorm: the total norm is the normType-norm of
 * the per-gradient norms, and each gradient is multiplied by min(1, maxNorm / (total + 1e-6)). Returns the total
 * norm (before clipping) as a 0-d tensor. normType may be Infinity for the max-abs norm.
 */
export function clipGradNorm_(params: Tensor | Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  if (!(normType > 0) && normType !== Infinity) throw new ArgumentError(`clipGradNorm_: normType must be positive or Infinity, got ${normType}`);
  if (!(maxNorm >= 0)) throw new ArgumentError(`clipGradNorm_: maxNorm must be non-negative, got ${maxNorm}`);
  const grads = gradsOf(params);
  if (!grads.length) return zeros([]);
  const dtype = grads.some((g) => g.dtype === 'float64') ? 'float64' : 'float32';
  return noGrad(() =>
    scope(() => {
      const norms = stack(grads.map((g) => (normType === Infinity ? g.abs().max() : g.norm(normType)).to(dtype)));
      const total = normType === Infinity ? norms.max() : norms.norm(normType);
      const coef = div(maxNorm, total.add(1e-6)).clamp(null, 1);
      for (const g of grads) g.mul_(coef);
      return total;
    }),
  );
}

/** Clamps every gradient elementwise to [−clipValue, clipValue]. */
export function clipGradValue_(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new ArgumentError(`clipGradValue_: clipValue must be non-negative, got ${clipValue}`);
  noGrad(() => {
    for (const g of gradsOf(params)) g.clamp_(-clipValue, clipValue);
  });
}
