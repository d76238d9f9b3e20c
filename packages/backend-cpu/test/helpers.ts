/** Shared helpers: random strided views built identically on the cpu and reference backends, and comparisons. */
import { ReferenceBackend, type Backend, type BackendBuffer, type DType, type TypedArray, type View } from '@tessera/core';
import { expect } from 'vitest';
import { cpuBackend } from '../src/index.js';

export const ref = new ReferenceBackend();
export const cpu = cpuBackend;

/** A small deterministic PRNG (mulberry32) so a failing seed reproduces. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const randInt = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

export function randomShape(r: () => number, maxRank = 4, maxDim = 6): number[] {
  return Array.from({ length: randInt(r, 0, maxRank) }, () => randInt(r, 1, maxDim));
}

export interface Layout {
  size: number;
  strides: number[];
  offset: number;
}

/** A strided window of `shape` into a bigger buffer: permuted, stepped, offset, sometimes flipped or broadcast. */
export function randomLayout(r: () => number, shape: readonly number[], broadcast = true): Layout {
  const nd = shape.length;
  const step = shape.map(() => (r() < 0.25 ? 2 : 1));
  const parent = shape.map((s, d) => s * step[d]! + (r() < 0.3 ? 1 : 0));
  const order = shape.map((_, d) => d).sort(() => r() - 0.5);
  const pstrides = new Array<number>(nd);
  let size = 1;
  for (const d of [...order].reverse()) {
    pstrides[d] = size;
    size *= parent[d]!;
  }
  let offset = 0;
  const strides = shape.map((s, d) => {
    offset += randInt(r, 0, parent[d]! - 1 - (s - 1) * step[d]!) * pstrides[d]!;
    let st = pstrides[d]! * step[d]!;
    if (r() < 0.15) {
      offset += (s - 1) * st;
      st = -st;
    }
    if (broadcast && r() < 0.2) st = 0;
    return st;
  });
  return { size: Math.max(size, 1), strides, offset };
}

export function contiguousLayout(shape: readonly number[]): Layout {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return { size: s, strides, offset: 0 };
}

const CTORS = { bool: Uint8Array, int32: Int32Array, float16: Float32Array, float32: Float32Array, float64: Float64Array } as const;

/** Random values of a dtype; floats in [lo, hi) with some specials mixed in when `specials`. */
export function randomData(r: () => number, dtype: DType, n: number, lo = -4, hi = 4, specials = false): TypedArray {
  const out = new CTORS[dtype](n);
  const sp = [NaN, Infinity, -Infinity, 0, -0];
  for (let i = 0; i < n; i++) {
    if (dtype === 'bool') out[i] = r() < 0.5 ? 1 : 0;
    else if (dtype === 'int32') out[i] = randInt(r, -20, 20);
    else out[i] = specials && r() < 0.05 ? sp[randInt(r, 0, sp.length - 1)]! : lo + r() * (hi - lo);
  }
  return out;
}

/** The same data and layout as a view on a backend. */
export function viewOn(b: Backend, data: TypedArray, dtype: DType, shape: readonly number[], layout: Layout): View {
  return { buffer: b.upload(data, dtype), shape, strides: layout.strides, offset: layout.offset, dtype };
}

export function contiguousView(buffer: BackendBuffer, shape: readonly number[], dtype: DType): View {
  return { buffer, shape, strides: contiguousLayout(shape).strides, offset: 0, dtype };
}

/** Reads a contiguous result buffer. */
export function readBuf(b: Backend, buffer: BackendBuffer, shape: readonly number[], dtype: DType): TypedArray {
  return b.readSync!(contiguousView(buffer, shape, dtype));
}

/** |a − e| ≤ atol + rtol·|e| elementwise; NaN matches NaN, infinities must match exactly. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 0, rtol = 0, what = 'value'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) expect.fail(`${what}[${i}]: expected NaN, got ${a}`);
      continue;
    }
    if (!Number.isFinite(e)) {
      if (a !== e) expect.fail(`${what}[${i}]: expected ${e}, got ${a}`);
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) expect.fail(`${what}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

/** Frees buffers on a backend (tests keep the heap tidy). */
export function freeAll(b: Backend, ...bufs: BackendBuffer[]): void {
  for (const x of bufs) b.free(x);
}
