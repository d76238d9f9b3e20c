/**
 * Rotary position embedding (RoFormer; spec §9.6). Position m rotates feature pair i by m·ω_i, ω_i = θ^(−2i/D)
 * with D the rotary dim. Two pairings exist and are not interchangeable without permuting W_Q/W_K:
 * - 'half' (rotate-half; GPT-NeoX, Hugging Face LLaMA): pair i = features (i, i + D/2);
 * - 'interleaved' (GPT-J, Meta's original LLaMA, DeepSeek): pair i = features (2i, 2i + 1).
 * Partial rotary (rotaryDim < head dim) rotates the first rotaryDim features and passes the rest through.
 * Angles are computed in float64 where the backend has it (float32 otherwise), then cast to the input's dtype.
 */
import { ArgumentError, cat, DTypeError, fmtShape, isFloat, ShapeError, stack, tensor, Tensor } from '@tessera/core';

/** Feature pairing of the rotation: rotate-half (NeoX) or interleaved (GPT-J). */
export type RopeConvention = 'half' | 'interleaved';

export interface RopeOptions {
  /** Base θ of the frequencies (default 10000; LLaMA-3 uses 500000). */
  theta?: number;
  /** Feature pairing (default 'half', as in Hugging Face LLaMA). */
  convention?: RopeConvention;
  /** Number of leading features to rotate (even; default: the whole last dim). */
  rotaryDim?: number;
}

/**
 * Positions for RoPE: a number is the offset of the first row (rows get offset, offset+1, … along the second-to-last
 * axis); an array or an int/float tensor gives each row's position and must broadcast to x.shape[:-1].
 */
export type RopePositions = number | readonly number[] | Tensor;

/** The frequencies ω_i = θ^(−2i/D), i = 0..D/2−1. */
export function ropeInverseFrequencies(rotaryDim: number, theta = 10000): number[] {
  if (!Number.isInteger(rotaryDim) || rotaryDim < 2 || rotaryDim % 2 !== 0)
    throw new ArgumentError(`rope: rotaryDim must be a positive even integer, got ${rotaryDim}`);
  if (!(theta > 0)) throw new ArgumentError(`rope: theta must be positive, got ${theta}`);
  return Array.from({ length: rotaryDim / 2 }, (_, i) => theta ** ((-2 * i) / rotaryDim));
}

function positionsTensor(positions: RopePositions, rows: number, x: Tensor): Tensor {
  if (typeof positions === 'number') {
    if (!Number.isFinite(positions)) throw new ArgumentError(`rope: position offset must be finite, got ${positions}`);
    return tensor(Float64Array.from({ length: rows }, (_, i) => positions + i), { device: x.device, dtype: angleDtype(x) });
  }
  if (positions instanceof Tensor) {
    if (positions.dtype === 'bool') throw new DTypeError('rope: positions must be int32 or float, got bool');
    return positions.device === x.device ? positions : positions.to(x.device);
  }
  return tensor(Float64Array.from(positions), { device: x.device, dtype: angleDtype(x) });
}

const angleDtype = (x: Tensor) => (x.backend.capabilities.dtypes.includes('float64') ? 'float64' : 'float32');

/**
 * cos and sin of the rotation angles for the given positions: shape [...positions.shape, rotaryDim/2], in `dtype`.
 * With a number offset, `rows` positions are generated.
 */
export function ropeCosSin(x: Tensor, positions: RopePositions, rotaryDim: number, theta = 10000): { cos: Tensor; sin: Tensor } {
  const rows = x.ndim >= 2 ? x.shape.at(-2)! : 1;
  const dt = angleDtype(x);
  const pos = positionsTensor(positions, rows, x).to(dt);
  const inv = tensor(Float64Array.from(ropeInverseFrequencies(rotaryDim, theta)), { device: x.device, dtype: dt });
  const angles = pos.unsqueeze(-1).mul(inv);
  return { cos: angles.cos().to(x.dtype), sin: angles.sin().to(x.dtype) };
}

/**
 * Rotates the features of x [..., T, D] by their positions (spec §9.6). Differentiable in x; the identity at
 * position 0; preserves the norm of each rotated pair.
 */
export function applyRope(x: Tensor, positions: RopePositions, opts: RopeOptions = {}): Tensor {
  if (!isFloat(x.dtype)) throw new DTypeError(`applyRope: expected a floating-point input, got ${x.dtype}`);
  if (x.ndim < 1) throw new ShapeError('applyRope: expected an input [..., T, D], got a scalar');
  const D = x.shape.at(-1)!;
  const rd = opts.rotaryDim ?? D;
  if (!Number.isInteger(rd) || rd < 2 || rd % 2 !== 0 || rd > D)
    throw new ArgumentError(`applyRope: rotaryDim must be an even integer in [2, ${D}] for input ${fmtShape(x.shape)}, got ${rd}`);
  const convention = opts.convention ?? 'half';
  if (convention !== 'half' && convention !== 'interleaved')
    throw new ArgumentError(`applyRope: convention must be 'half' or 'interleaved', got '${convention}'`);
  const { cos, sin } = ropeCosSin(x, positions, rd, opts.theta);
  const lead = x.shape.slice(0, -1);
  const posShape = cos.shape.slice(0, -1);
  if (posShape.length > lead.length || posShape.some((s, i) => s !== 1 && s !== lead[lead.length - posShape.length + i]))
    throw new ShapeError(`applyRope: positions of shape ${fmtShape(posShape)} do not broadcast to the rows ${fmtShape(lead)} of input ${fmtShape(x.shape)}`);
  const rot = rd === D ? x : x.narrow(-1, 0, rd);
  const h = rd / 2;
  let rotated: Tensor;
  if (convention === 'half') {
    const [a, b] = [rot.narrow(-1, 0, h), rot.narrow(-1, h, h)];
    rotated = cat([a.mul(cos).sub(b.mul(sin)), b.mul(cos).add(a.mul(sin))], -1);
  } else {
    const pairs = rot.unflatten(-1, [h, 2]);
    const [a, b] = [pairs.select(-1, 0), pairs.select(-1, 1)];
    rotated = stack([a.mul(cos).sub(b.mul(sin)), a.mul(sin).add(b.mul(cos))], -1).flatten(-2);
  }
  return rd === D ? rotated : cat([rotated, x.narrow(-1, rd, D - rd)], -1);
}

/**
 * The permutation Π that lists even features then odd ones: RoPE_half(Π x) = Π RoPE_interleaved(x). Apply it to the
 * rows of each head of W_Q and W_K to move a checkpoint from one convention to the other.
 */
export function interleavedToHalfPermutation(rotaryDim: number): number[] {
  if (!Number.isInteger(rotaryDim) || rotaryDim < 2 || rotaryDim % 2 !== 0)
    throw new ArgumentError(`interleavedToHalfPermutation: rotaryDim must be a positive even integer, got ${rotaryDim}`);
  return [...Array.from({ length: rotaryDim / 2 }, (_, i) => 2 * i), ...Array.from({ length: rotaryDim / 2 }, (_, i) => 2 * i + 1)];
}

/** RoPE settings bound to a head dim: `apply(x, positions)` rotates q or k laid out [..., T, headDim]. */
export class RotaryEmbedding {
  readonly headDim: number;
  readonly rotaryDim: number;
  readonly theta: number;
  readonly convention: RopeConvention;

  constructor(headDim: number, opts: RopeOptions = {}) {
    this.headDim = headDim;
    this.rotaryDim = opts.rotaryDim ?? headDim;
    this.theta = opts.theta ?? 10000;
    this.convention = opts.convention ?? 'half';
    if (opts.rotaryDim === undefined && (headDim < 2 || headDim % 2 !== 0))
      throw new ArgumentError(`RotaryEmbedding: RoPE rotates feature pairs, but the head dim ${headDim} is odd; pass an even rotaryDim or disable RoPE`);
    if (!Number.isInteger(this.rotaryDim) || this.rotaryDim < 2 || this.rotaryDim % 2 !== 0 || this.rotaryDim > headDim)
      throw new ArgumentError(`RotaryEmbedding: rotaryDim must be an even integer in [2, ${headDim}], got ${this.rotaryDim}`);
    ropeInverseFrequencies(this.rotaryDim, this.theta);
  }

  apply(x: Tensor, positions: RopePositions): Tensor {
    if (x.shape.at(-1) !== this.headDim)
      throw new ShapeError(`RotaryEmbedding: expected inputs [..., T, ${this.headDim}], got ${fmtShape(x.shape)}`);
    return applyRope(x, positions, { theta: this.theta, convention: this.convention, rotaryDim: this.rotaryDim });
  }

  /** ≈3·rotaryDim FLOPs per rotated vector (spec §9.6). */
  flopsPerVector(): number {
    return 3 * this.rotaryDim;
  }
}
