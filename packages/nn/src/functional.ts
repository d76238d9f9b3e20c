/** Functional forms of the layers (torch.nn.functional): linear, embedding, dropout. */
import { ArgumentError, DTypeError, fmtShape, isFloat, matmulNT, rand, ShapeError, Tensor, type Generator } from '@tessera/core';

/** y = x·Wᵀ + b for x [..., in], weight [out, in], bias [out]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2 || x.ndim < 1 || x.shape.at(-1) !== weight.shape[1])
    throw new ShapeError(`linear: expected input [..., ${weight.shape[1] ?? 'in'}] for weight [out, in] = ${fmtShape(weight.shape)}, got input ${fmtShape(x.shape)}`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0]))
    throw new ShapeError(`linear: bias must have shape [${weight.shape[0]}], got ${fmtShape(bias.shape)}`);
  const y = matmulNT(x, weight);
  return bias ? y.add(bias) : y;
}

/**
 * Rows of `weight` [num, dim] picked by int32 `indices` of any shape; the result is [...indices.shape, dim].
 * Entries equal to paddingIdx pass no gradient to their row, like PyTorch. Indices outside [0, num) are an error
 * raised by the backend's gather, as in PyTorch.
 */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  if (indices.dtype !== 'int32') throw new DTypeError(`embedding: indices must be int32, got ${indices.dtype}`);
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be [numEmbeddings, embeddingDim], got ${fmtShape(weight.shape)}`);
  const flat = indices.reshape([-1]);
  let rows = weight.indexSelect(0, flat);
  if (paddingIdx !== null && rows.requiresGrad) {
    const pad = normalizePaddingIdx('embedding', paddingIdx, weight.shape[0]!);
    rows = rows.detach().where(flat.eq(pad).unsqueeze(-1), rows);
  }
  return rows.reshape([...indices.shape, weight.shape[1]!]);
}

/** A paddingIdx in [−num, num) made non-negative. */
export function normalizePaddingIdx(op: string, paddingIdx: number, num: number): number {
  if (!Number.isInteger(paddingIdx) || paddingIdx < -num || paddingIdx >= num)
    throw new ArgumentError(`${op}: paddingIdx must be an integer within [-${num}, ${num}), got ${paddingIdx}`);
  return paddingIdx < 0 ? paddingIdx + num : paddingIdx;
}

export interface DropoutOptions {
  /** Source of the random mask; the default generator otherwise. */
  generator?: Generator;
}

/**
 * Zeroes each element with probability p while training and scales the rest by 1/(1−p); the identity otherwise.
 * The mask comes from `generator`, so a seeded generator makes it reproducible.
 */
export function dropout(x: Tensor, p = 0.5, training = true, opts: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`dropout: probability must be within [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (!isFloat(x.dtype)) throw new DTypeError(`dropout: expected a floating-point input, got ${x.dtype}`);
  if (p === 1) return x.mul(0);
  const keep = rand(x.shape, { dtype: x.dtype, device: x.device, generator: opts.generator }).ge(p);
  return x.mul(keep.to(x.dtype).mul(1 / (1 - p)));
}
