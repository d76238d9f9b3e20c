/**
 * IEEE half precision (binary16) on the host. Node 20 has no Float16Array, so float16 tensors travel through JS as
 * Float32Array whose values are exactly representable in half precision; these helpers produce such values.
 * Rounding is round-to-nearest-even from any JS number (so exact for float32 inputs too): overflow gives ±Infinity,
 * results below 2^-14 become subnormal halves (unit 2^-24), NaN stays NaN and the sign of zero is kept.
 */

/** The largest finite half, 65504. */
export const FLOAT16_MAX = 65504;

// The exponent comes from the float64 bits, and scaling by powers of two is exact, so nothing here rounds but the
// explicit round-half-to-even step.
const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
/** INV_QUANTUM[k + 5] = 2^k for k in [−5, 24]: the scales that make a half's quantum 1. */
const INV_QUANTUM = Array.from({ length: 30 }, (_, i) => 2 ** (i - 5));

/** Rounds x to the nearest half and returns its 16-bit pattern. */
export function float16Bits(x: number): number {
  scratch[0] = x;
  const hi = words[HI]!;
  const sign = (hi >>> 16) & 0x8000;
  const e = ((hi >>> 20) & 0x7ff) - 1023; // float64 subnormals give −1023: far below the half range
  if (e === 1024) return (hi & 0xfffff) !== 0 || words[1 - HI] !== 0 ? 0x7e00 : sign | 0x7c00;
  if (e > 15) return sign | 0x7c00;
  if (e < -25) return sign;
  // In units of the result's quantum (2^(e−10) for normal halves, 2^-24 below 2^-14) a is below 2048, and exact.
  const normal = e >= -14;
  const v = Math.abs(x) * INV_QUANTUM[15 - (normal ? e : -14)]!;
  let n = Math.floor(v);
  const frac = v - n;
  if (frac > 0.5 || (frac === 0.5 && (n & 1) === 1)) n++;
  if (!normal) return sign | n; // n = 1024 is the smallest normal's pattern, as it should be
  if (n === 2048) return e === 15 ? sign | 0x7c00 : sign | ((e + 16) << 10);
  return sign | ((e + 15) << 10) | (n - 1024);
}

/** The value of a 16-bit half pattern. */
export function float16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

let table: Float32Array | null = null;
/** x rounded to the nearest half-precision value (round half to even), as a JS number. */
export function roundFloat16(x: number): number {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = float16FromBits(h);
  }
  return table[float16Bits(x)]!;
}

/** Rounds every element of a float array to half precision, in place; returns it. */
export function roundFloat16Array<T extends Float32Array | Float64Array>(a: T): T {
  for (let i = 0; i < a.length; i++) a[i] = roundFloat16(a[i]!);
  return a;
}
