/**
 * Parameter initializers (torch.nn.init): each fills a tensor in place under noGrad and returns it. Random ones draw
 * from the optional `generator` (the default generator otherwise), so a seed reproduces the same weights.
 */
import { ArgumentError, DTypeError, fmtShape, isFloat, noGrad, rand, randn, scope, Tensor, type Generator } from '@tessera/core';

export interface InitOptions {
  generator?: Generator;
}

/** 'fanIn' keeps the variance of activations in the forward pass, 'fanOut' that of gradients in the backward. */
export type FanMode = 'fanIn' | 'fanOut';

/** Nonlinearity names accepted by calculateGain (camelCase or PyTorch's snake_case). */
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'convTranspose1d' | 'convTranspose2d' | 'convTranspose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'leaky_relu' | 'selu';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain); `param` is leakyRelu's negative slope. */
export function calculateGain(nonlinearity: Nonlinearity | string, param?: number): number {
  const name = nonlinearity.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  if (/^(linear|conv(Transpose)?[123]d|sigmoid)$/.test(name)) return 1;
  if (name === 'tanh') return 5 / 3;
  if (name === 'relu') return Math.SQRT2;
  if (name === 'selu') return 3 / 4;
  if (name === 'leakyRelu') {
    const slope = param ?? 0.01;
    if (!Number.isFinite(slope)) throw new ArgumentError(`calculateGain: negative slope ${slope} is not a valid number`);
    return Math.sqrt(2 / (1 + slope * slope));
  }
  throw new ArgumentError(`calculateGain: unsupported nonlinearity '${nonlinearity}'`);
}

/** fan_in and fan_out of a weight of shape [out, in, ...kernel] (torch's _calculate_fan_in_and_fan_out). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2)
    throw new ArgumentError(`init: fan in and fan out cannot be computed for a tensor with fewer than 2 dims, got shape ${fmtShape(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

function checkFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new DTypeError(`${op}: expected a floating-point tensor, got ${t.dtype}`);
}

/** Writes fn's result into t without recording gradients, freeing every temporary. */
function fillWith(t: Tensor, fn: () => Tensor): Tensor {
  noGrad(() => scope(() => void t.copy_(fn())));
  return t;
}

const drawOpts = (t: Tensor, o: InitOptions) => ({ dtype: t.dtype, device: t.device, generator: o.generator });

/** Fills with U(low, high). */
export function uniform_(t: Tensor, low = 0, high = 1, opts: InitOptions = {}): Tensor {
  checkFloat('uniform_', t);
  return fillWith(t, () => rand(t.shape, drawOpts(t, opts)).mul(high - low).add(low));
}

/** Fills with N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  checkFloat('normal_', t);
  return fillWith(t, () => randn(t.shape, drawOpts(t, opts)).mul(std).add(mean));
}

export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

/**
 * Fills with N(mean, std²) truncated to [a, b], by the inverse-CDF method like PyTorch: uniform draws between the
 * CDF values of the bounds are mapped back through erf⁻¹, so no rejection loop (and no readback) is needed.
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, opts: InitOptions = {}): Tensor {
  checkFloat('truncNormal_', t);
  if (!(a < b)) throw new ArgumentError(`truncNormal_: expected a < b, got a = ${a}, b = ${b}`);
  const cdf = (x: number) => (1 + erfScalar((x - mean) / std / Math.SQRT2)) / 2;
  const [lo, hi] = [cdf(a), cdf(b)];
  return fillWith(t, () => {
    const u = rand(t.shape, drawOpts(t, opts)).mul(2 * (hi - lo)).add(2 * lo - 1);
    // Keep the argument of erf⁻¹ strictly inside (−1, 1) so the tails stay finite.
    const tiny = t.dtype === 'float32' ? 1e-7 : 1e-15;
    return erfinv(u.clamp(-1 + tiny, 1 - tiny)).mul(std * Math.SQRT2).add(mean).clamp(a, b);
  });
}

/** Xavier/Glorot uniform: U(−r, r) with r = gain·√(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, opts);
}

/** Xavier/Glorot normal: N(0, σ²) with σ = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the following leaky ReLU (default 0). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: Tensor, o: KaimingOptions): number {
  const { a = 0, mode = 'fanIn', nonlinearity = 'leakyRelu' } = o;
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new ArgumentError(`${op}: mode must be 'fanIn' or 'fanOut', got '${mode}'`);
  const fans = calculateFanInAndFanOut(t);
  const fan = mode === 'fanIn' ? fans.fanIn : fans.fanOut;
  if (fan === 0) throw new ArgumentError(`${op}: cannot initialize a tensor with zero elements, shape ${fmtShape(t.shape)}`);
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/** He/Kaiming uniform: U(−r, r) with r = gain·√(3 / fan). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts);
  return uniform_(t, -bound, bound, opts);
}

/** He/Kaiming normal: N(0, σ²) with σ = gain / √fan. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, opts), opts);
}

// ---- erf and its inverse ---------------------------------------------------------------------------------------

/**
 * erf of a JS number: its Taylor series for |x| < 3 (accurate to ~1e-13 there), and beyond that Numerical Recipes'
 * erfc fit (fractional error < 1.2e-7 on an erfc below 2.3e-5), so the absolute error stays far below float32's.
 */
function erfScalar(x: number): number {
  if (Math.abs(x) < 3) {
    let sum = x;
    let term = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = [0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223];
  const erfc = t * Math.exp(-z * z + poly.reduce((acc, c) => acc * t + c, 0));
  return x >= 0 ? 1 - erfc : erfc - 1;
}

/** Horner evaluation of a polynomial (coefficients from highest degree) on a tensor. */
function horner(w: Tensor, coeffs: readonly number[]): Tensor {
  let p = w.mul(0).add(coeffs[0]!);
  for (const c of coeffs.slice(1)) p = p.mul(w).add(c);
  return p;
}

/**
 * erf⁻¹ on a tensor with values in (−1, 1): M. Giles' single-precision polynomial approximation, refined by Newton
 * steps on erf(y) = x for |x| < 0.9966 (which covers every draw of truncNormal_ with bounds within ±2.9σ).
 */
export function erfinv(x: Tensor): Tensor {
  const w = x.neg().add(1).mul(x.add(1)).log().neg();
  const central = horner(w.sub(2.5), [
    2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 2.1858087e-4, -1.25372503e-3, -4.17768164e-3, 2.46640727e-1, 1.50140941,
  ]);
  const tail = horner(w.clamp(5).sqrt().sub(3), [
    -2.00214257e-4, 1.00950558e-4, 1.34934322e-3, -3.67342844e-3, 5.73950773e-3, -7.6224613e-3, 9.43887047e-3, 1.00167406, 2.83297682,
  ]);
  const centralRegion = w.lt(5);
  let y = central.where(centralRegion, tail).mul(x);
  const twoOverSqrtPi = 2 / Math.sqrt(Math.PI);
  // Newton steps only where erf' is not tiny: in the tails erf(y) − x cancels and the step would blow up, and
  // there the approximation alone is already good to about 1e-7 relative.
  for (let i = 0; i < 2; i++) y = y.sub(y.erf().sub(x).div(y.square().neg().exp().mul(twoOverSqrtPi))).where(centralRegion, y);
  return y;
}
