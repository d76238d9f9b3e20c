/**
 * In-place ops (add_, mul_, copy_, fill_, …): they write into the tensor's storage, so every view sharing it sees
 * the change. Autograd does not track them: like PyTorch, writing in place into a tensor that requires grad is an
 * error while grad mode is on (optimizers run their updates under noGrad), and a saved tensor that was written
 * after use makes its node's backward fail with a clear message instead of a wrong gradient.
 */
import { isGradEnabled, noGrad } from '../autograd/mode.js';
import { AutogradError, fmtShape, ShapeError } from '../errors.js';
import { broadcastShapes, shapesEqual } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import * as prim from './prim.js';

function checkWritable(op: string, x: Tensor): void {
  if (isGradEnabled() && x.requiresGrad)
    throw new AutogradError(
      `${op}: a tensor that requires grad (shape ${fmtShape(x.shape)}) cannot be modified in place while grad mode is on; ` +
        'wrap the update in noGrad(), or use the out-of-place op',
    );
}

/** Computes fn out of place, then writes the result into x; the temporary is freed unless it is the caller's. */
export function inPlace(op: string, x: Tensor, fn: () => Tensor, temporary = true): Tensor {
  checkWritable(op, x);
  const result = noGrad(fn);
  if (!shapesEqual(broadcastShapes(op, x.shape, result.shape), x.shape))
    throw new ShapeError(`${op}: result of shape ${fmtShape(result.shape)} cannot be written into a tensor of shape ${fmtShape(x.shape)}`);
  prim.assign(x, result);
  if (temporary && result !== x) result.dispose();
  return x;
}

export const copy_ = (x: Tensor, src: TensorLike) =>
  inPlace('copy_', x, () => (src instanceof Tensor ? src : prim.scalar(src, x.dtype, x.backend)), !(src instanceof Tensor));
export const fill_ = (x: Tensor, value: number | boolean) => copy_(x, value);
export const zero_ = (x: Tensor) => fill_(x, 0);
