/**
 * Helpers shared by the conformance, error and memory suites: per-test backend selection, float settings per
 * backend (float64 where it exists, float32 with looser tolerances otherwise) and small nested-array utilities
 * used to feed mathjs, the independent oracle.
 */
import { afterEach, beforeEach } from 'vitest';
import { getBackend, setBackend, type DType, type Tensor } from '@tessera/core';
import { hasFloat64 } from '../support/backends.js';
import type { Tolerance } from '../support/close.js';
import type { MathArray } from 'mathjs';

/** Makes `name` the current backend for every test of the enclosing describe, restoring the previous one after. */
export function useBackend(name: string): void {
  let previous: string | undefined;
  beforeEach(() => {
    previous = getBackend().name;
    setBackend(name);
  });
  afterEach(() => {
    if (previous) setBackend(previous);
  });
}

/** The widest float dtype a backend has, and the tolerance results in it are checked with. */
export function floatSetup(name: string): { F: DType; tol: Tolerance; fround: (x: number) => number } {
  return hasFloat64(name)
    ? { F: 'float64', tol: { atol: 1e-12, rtol: 1e-10 }, fround: (x) => x }
    : { F: 'float32', tol: { atol: 1e-5, rtol: 1e-5 }, fround: Math.fround };
}

/** The elements of a tensor as a plain number array (async: WebGPU has no synchronous read). */
export async function vals(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

export type Nested = number | Nested[];
/** mathjs's typings do not accept recursive arrays; this is the same value, typed for it. */
export const toMath = (a: Nested) => a as unknown as MathArray;

/** Shape of a rectangular nested array. */
export function shapeOfNested(a: Nested): number[] {
  const s: number[] = [];
  for (let x: Nested = a; Array.isArray(x); x = x[0]!) {
    s.push(x.length);
    if (x.length === 0) break;
  }
  return s;
}

/** Builds a nested array of `shape` whose element at flat position i is f(i). */
export function nestedFrom(shape: readonly number[], f: (i: number) => number): Nested {
  let next = 0;
  const rec = (d: number): Nested => (d === shape.length ? f(next++) : Array.from({ length: shape[d]! }, () => rec(d + 1)));
  return rec(0);
}

/** Flat row-major contents of a nested array. */
export function flatNested(a: Nested): number[] {
  return Array.isArray(a) ? a.flatMap(flatNested) : [a];
}

/** Deterministic pseudo-random values in [lo, hi) (a tiny LCG, so tests do not depend on Tessera's own RNG). */
export function lcg(seed: number, n: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}
