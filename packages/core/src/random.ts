/**
 * Seedable, counter-based random numbers. Element j of a draw is a pure function of (key, start + 2j, start + 2j + 1),
 * so a backend implementing these few integer steps (WASM, WGSL) reproduces the reference backend's numbers for the
 * same seed. A Generator only hands out (key, start) pairs and advances its counter; the math runs on the backend.
 */
import { ArgumentError } from './errors.js';
import { checkNotCapturing } from './capture-mode.js';

/** A 32-bit integer mixer with good avalanche (the "lowbias32" constants). */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The two 32-bit words for element j of a draw. */
export function randomWords(key: number, start: number, j: number): [number, number] {
  const c = (start + 2 * j) >>> 0;
  return [hash32(hash32(c) ^ key), hash32(hash32((c + 1) >>> 0) ^ key)];
}

const TWO_PI = 2 * Math.PI;

/** Uniform in [0, 1): 24 random bits for float32, 53 for float64. */
export function uniformFromWords(w0: number, w1: number, float64: boolean): number {
  if (!float64) return (w0 >>> 8) * 2 ** -24;
  return ((w0 >>> 5) * 2 ** 26 + (w1 >>> 6)) * 2 ** -53;
}

/** Standard normal by Box–Muller; u1 is kept in (0, 1] so the log is finite. */
export function normalFromWords(w0: number, w1: number): number {
  const u1 = (w0 + 1) / 4294967296;
  const u2 = w1 / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
}

/** A random-number generator: a seed and a counter, like torch.Generator. */
export class Generator {
  private seed = 0;
  private counter = 0;
  constructor(seed?: number) {
    this.manualSeed(seed ?? Date.now());
  }
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed) || !Number.isInteger(seed)) throw new ArgumentError(`manualSeed: seed must be an integer, got ${seed}`);
    this.seed = seed;
    this.counter = 0;
    return this;
  }
  initialSeed(): number {
    return this.seed;
  }
  /** The generator's whole state, for checkpoints. */
  getState(): { seed: number; counter: number } {
    return { seed: this.seed, counter: this.counter };
  }
  setState(state: { seed: number; counter: number }): void {
    this.seed = state.seed;
    this.counter = state.counter;
  }
  /** Reserves 2·n counters and returns the (key, start) to pass to a backend's random kernel. */
  next(n: number): { key: number; start: number } {
    checkNotCapturing('random', 'a replay would repeat the same random numbers (dropout masks included); run random ops outside the capture or in eval mode');
    let block = Math.floor(this.counter / 2 ** 31);
    let start = this.counter - block * 2 ** 31;
    // Keep start + 2n inside 32 bits: move to a fresh key block rather than wrap.
    if (start + 2 * n > 2 ** 32) {
      block += 1;
      start = 0;
      this.counter = block * 2 ** 31;
    }
    const lo = this.seed >>> 0;
    const hi = Math.floor(this.seed / 4294967296) >>> 0;
    const key = hash32(lo ^ hash32(hi ^ hash32(block ^ 0x9e3779b9)));
    this.counter += 2 * n;
    return { key, start };
  }
}

/** The process-wide default generator used when no generator is passed. */
export const defaultGenerator = new Generator(0x5eed);

/** Seeds the default generator (torch.manual_seed). */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
