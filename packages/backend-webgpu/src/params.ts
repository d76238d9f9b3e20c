/**
 * Kernel parameters. Every kernel reads its sizes, op codes, dtypes and view layouts from one small `array<u32>`
 * (binding 0) instead of having them baked into the shader, so one compiled pipeline serves every shape, stride and
 * op of its family (lavapipe spends 0.4–4 s compiling each pipeline with LLVM).
 */
import { DTypeError, float16Bits, type DType } from '@tessera/core';

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** dtype codes shared with the WGSL prelude. bool is stored as one u32 (0 or 1) per element, float16 as halves. */
export const DT = { float32: 0, int32: 1, bool: 2, float16: 3 } as const;

export function dtCode(op: string, dtype: DType): number {
  if (dtype === 'float64')
    throw new DTypeError(`${op}: the 'webgpu' backend has no float64 (WGSL has no 64-bit floats); convert with .to('float32')`);
  return DT[dtype];
}

/** Builds the parameter words of one dispatch. */
export class Params {
  readonly words: number[] = [];

  u(...values: number[]): this {
    for (const v of values) this.words.push(v >>> 0);
    return this;
  }
  i(...values: number[]): this {
    for (const v of values) this.words.push(v | 0);
    return this;
  }
  f(value: number): this {
    f32Scratch[0] = value;
    this.words.push(u32Scratch[0]!);
    return this;
  }
  /** Reserves a word to fill later (e.g. the position of a view descriptor); returns its index. */
  slot(): number {
    this.words.push(0);
    return this.words.length - 1;
  }
  set(slot: number, value: number): void {
    this.words[slot] = value >>> 0;
  }
  /**
   * Appends a view descriptor [ndim, offset, shape…, strides…] and returns its word index; the WGSL `vOff(base, i)`
   * turns a row-major element index of that shape into a buffer offset.
   */
  view(shape: readonly number[], strides: readonly number[], offset: number): number {
    const base = this.words.length;
    this.u(shape.length).i(offset);
    for (const s of shape) this.u(s);
    for (const s of strides) this.i(s);
    return base;
  }
  get length(): number {
    return this.words.length;
  }
}

/** The bit pattern a buffer of `dtype` stores for the JS number v (same conversions as the reference backend). */
export function wordOf(v: number, dtype: DType): number {
  if (dtype === 'bool') return v !== 0 ? 1 : 0;
  if (dtype === 'int32') return (Number.isFinite(v) ? Math.trunc(v) | 0 : 0) >>> 0;
  if (dtype === 'float16') return float16Bits(v) * 0x10001; // the half in both halves of the word
  f32Scratch[0] = v;
  return u32Scratch[0]!;
}

/**
 * Drops size-1 dims and merges neighbours that are contiguous with each other in every layout, so the common
 * contiguous case costs one division per element in the kernel instead of one per dim.
 */
export function coalesce(shape: readonly number[], ...layouts: (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = layouts.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d]!;
    if (s === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && layouts.every((st, k) => outStrides[k]![last] === st[d]! * s)) {
      outShape[last]! *= s;
      layouts.forEach((st, k) => (outStrides[k]![last] = st[d]!));
    } else {
      outShape.push(s);
      layouts.forEach((st, k) => outStrides[k]!.push(st[d]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = acc;
    acc *= Math.max(shape[d]!, 1);
  }
  return out;
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
