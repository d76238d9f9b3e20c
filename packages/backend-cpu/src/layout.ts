/**
 * Index-space simplification before a kernel runs: size-1 dims are dropped and neighbouring dims merged wherever
 * every operand steps through them as one (stride[d] == stride[d+1]·shape[d+1]), so a contiguous tensor of any
 * rank becomes one long run and a transposed one stays 2-D. Strides here are in elements.
 */
import type { StrideClass } from './codegen/nest.js';

export interface Collapsed {
  shape: number[];
  /** strides[k][d] for operand k. */
  strides: number[][];
}

export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): Collapsed {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((st, k) => outStrides[k]![last] === st[d]! * size)) {
      outShape[last]! *= size;
      strides.forEach((st, k) => (outStrides[k]![last] = st[d]!));
    } else {
      outShape.push(size);
      strides.forEach((st, k) => outStrides[k]!.push(st[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

export function strideClass(innerStride: number): StrideClass {
  return innerStride === 1 ? 'c' : innerStride === 0 ? 's' : 'g';
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d]!;
  }
  return out;
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
