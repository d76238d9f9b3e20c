/** Numeric comparison helpers shared by the suites. */
import { expect } from 'vitest';

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

/** Flattens nested arrays / typed arrays to a plain number array. */
export function flat(x: unknown): number[] {
  if (typeof x === 'number') return [x];
  if (typeof x === 'boolean') return [+x];
  if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
  if (Array.isArray(x)) return x.flatMap(flat);
  throw new Error(`flat: unsupported value ${String(x)}`);
}

/** Asserts |a − e| ≤ atol + rtol·|e| elementwise (NaN equals NaN, ±inf must match exactly). */
export function expectClose(actual: unknown, expected: unknown, tol: Tolerance = {}, what = 'value'): void {
  const { atol = 1e-6, rtol = 1e-5 } = tol;
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length, `${what}: length`).toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i]!, e[i]!];
    if (Number.isNaN(y)) {
      expect(Number.isNaN(x), `${what}[${i}]: expected NaN, got ${x}`).toBe(true);
      continue;
    }
    if (!Number.isFinite(y)) {
      expect(x, `${what}[${i}]`).toBe(y);
      continue;
    }
    const ok = Math.abs(x - y) <= atol + rtol * Math.abs(y);
    if (!ok) expect.fail(`${what}[${i}]: got ${x}, expected ${y} (atol ${atol}, rtol ${rtol})`);
  }
}
