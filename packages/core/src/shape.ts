/** Shape arithmetic: sizes, strides, broadcasting and dim normalization. */
import { ArgumentError, ShapeError, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= Math.max(shape[i]!, 1);
  }
  return strides;
}

export function isContiguousLayout(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** NumPy/PyTorch broadcasting of any number of shapes; `op` names the caller in the error. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = ndim - s.length + i;
      const d = s[i]!;
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else
        throw new ShapeError(
          `${op}: shapes ${shapes.map(fmtShape).join(' and ')} are not broadcastable ` +
            `(dim ${o - ndim} has sizes ${out[o]} and ${d}; each must be equal or 1)`,
        );
    }
  }
  return out;
}

/** Wraps a possibly negative dim into [0, ndim); errors name the op. */
export function normDim(op: string, dim: number, ndim: number): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n)
    throw new ArgumentError(`${op}: dim ${dim} is out of range for a tensor with ${ndim} dims (expected -${n} to ${n - 1})`);
  return dim < 0 ? dim + n : dim;
}

/** Normalizes a dims argument (undefined = all dims); rejects duplicates. */
export function normDims(op: string, dims: number | readonly number[] | undefined, ndim: number): number[] {
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = (typeof dims === 'number' ? [dims] : [...dims]).map((d) => normDim(op, d, ndim));
  if (new Set(list).size !== list.length) throw new ArgumentError(`${op}: dim ${JSON.stringify(dims)} has repeated entries`);
  return list.sort((a, b) => a - b);
}

export function checkShape(op: string, shape: Shape): void {
  for (const s of shape)
    if (!Number.isInteger(s) || s < 0) throw new ShapeError(`${op}: invalid shape ${fmtShape(shape)}: sizes must be non-negative integers`);
}
