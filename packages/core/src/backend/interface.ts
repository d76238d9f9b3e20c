/**
 * The backend interface: a small, closed set of primitives every backend implements, plus optional fused kernels
 * whose default (in core) is a composition of primitives.
 *
 * Rules every backend follows:
 * - Inputs arrive as {@link View}s — buffer + shape + strides + offset — so strided and broadcast (stride 0) inputs
 *   are read in place; outputs are new, contiguous, row-major buffers.
 * - Nothing here hands data back to JS synchronously except the optional `readSync`; a backend may queue work and
 *   finish it later (WebGPU), so the only way to observe values is `read`.
 * - Backends know nothing about autograd: gradients are compositions of these same primitives, defined once in core.
 */
import type { DType, TypedArray } from '../dtype.js';

/** An opaque handle to memory owned by a backend. */
export interface BackendBuffer {
  /** Number of elements. */
  readonly size: number;
  readonly dtype: DType;
}

/** A strided window onto a buffer: element (i0, i1, …) lives at offset + Σ ik·strides[k]. */
export interface View {
  readonly buffer: BackendBuffer;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
}

export const UNARY_OPS = [
  'neg', 'abs', 'sign', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'erf',
  'reciprocal', 'floor', 'ceil', 'round', 'relu', 'gelu', 'geluTanh', 'silu', 'logicalNot', 'isnan',
] as const;
/** Elementwise unary primitives. Input and output dtypes are chosen by core (float ops get float inputs). */
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd',
  'logicalOr', 'logicalXor',
] as const;
/** Elementwise binary primitives; comparisons and logical ops produce bool. */
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Reductions. arg* reduce exactly one axis and produce int32 (first occurrence wins on ties). */
export type ReduceOp = 'sum' | 'prod' | 'max' | 'min' | 'argmax' | 'argmin';

export type RandomKind = 'uniform' | 'normal';

/** Constants of one Adam/AdamW step (see FusedKernels.adamStep). */
export interface AdamStepHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: p ← p·(1 − lr·weightDecay) first; Adam: weightDecay·p is added to the gradient. */
  decoupled: boolean;
  maximize: boolean;
  lr: number;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  bc2Sqrt: number;
}

/** Elementwise activations with a fused backward (see FusedKernels.activationBackward). */
export type ActivationKind = 'gelu' | 'geluTanh' | 'silu';

/** Which parameter gradients FusedKernels.normBackward should also return. */
export interface NormBackwardWants {
  /** Σ over rows of gradOut·x̂ (the weight's gradient). */
  weight: boolean;
  /** Σ over rows of gradOut (the bias's gradient; layerNorm only). */
  bias: boolean;
}

/** Optional fused kernels; each has a composed default in core, so a backend may leave any of them out. */
export interface FusedKernels {
  /** softmax / logSoftmax along the last axis of a contiguous-or-not input. */
  softmax?(x: View, log: boolean): BackendBuffer;
  /** Normalizes over the last axis; weight and bias (if given) have the last axis's size. */
  layerNorm?(x: View, weight: View | null, bias: View | null, eps: number): BackendBuffer;
  rmsNorm?(x: View, weight: View | null, eps: number): BackendBuffer;
  /**
   * gradOut · act'(x) for x and gradOut of one shape and float dtype (any strides); a contiguous result. The
   * forwards are unary primitives already. Not differentiable itself (core uses it only when no higher-order graph
   * is built).
   */
  activationBackward?(x: View, gradOut: View, kind: ActivationKind): BackendBuffer;
  /**
   * Backward of layerNorm (center) or rmsNorm over the last axis of x [..., n] (weight [n] or null, gradOut like
   * x, one float dtype): dx, and when asked the parameter sums over all rows, dweight = Σ gradOut·x̂ and
   * dbias = Σ gradOut, each [n]. Not differentiable itself.
   */
  normBackward?(
    x: View, weight: View | null, gradOut: View, eps: number, center: boolean, wants: NormBackwardWants,
  ): { dx: BackendBuffer; dweight: BackendBuffer | null; dbias: BackendBuffer | null };
  /**
   * Scaled-dot-product attention forward: q [B, H, L, D], k [B, H, S, D], v [B, H, S, Dv], optional additive mask
   * broadcastable to [B, H, L, S]; isCausal uses top-left alignment.
   */
  attention?(q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number): BackendBuffer;
  /**
   * Gradients of `attention` (same shapes and mask/causal semantics) given its output `out` [B, H, L, Dv] and the
   * output gradient `gradOut`: dq [B, H, L, D], dk [B, H, S, D], dv [B, H, S, Dv]. Rows with no allowed key get
   * zero gradients. Not differentiable itself (callers use it only when no higher-order graph is built).
   */
  attentionBackward?(
    q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number, out: View, gradOut: View,
  ): { dq: BackendBuffer; dk: BackendBuffer; dv: BackendBuffer };
  /**
   * One Adam/AdamW update, elementwise and in place on p, m and v (contiguous views of one float dtype, the same
   * shape as grad): g' = ±grad (+ weightDecay·p unless decoupled); m ← β₁m + (1−β₁)g'; v ← β₂v + (1−β₂)g'²;
   * p ← p − stepSize · m / (√v / bc2Sqrt + eps). Saves an optimizer the dozen dispatches per parameter the composed
   * update costs.
   */
  adamStep?(p: View, grad: View, m: View, v: View, h: AdamStepHyper): void;
}

export interface BackendCapabilities {
  /** Whether `readSync` is honest (the data is in host-visible memory and no queued work is pending). */
  readonly readSync: boolean;
  /** Dtypes this backend can store and compute. */
  readonly dtypes: readonly DType[];
}

/** Kernels recorded by a backend during a capture, replayed without the JavaScript that enqueued them. */
export interface CapturedWork {
  /** Enqueues the recorded kernels again, in order with other work, on the same buffers. */
  replay(): void;
  /** Releases the recording and the buffers it kept reserved. */
  dispose(): void;
}

export interface Backend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  readonly fused: FusedKernels;

  // --- memory ---------------------------------------------------------------------------------------------
  /** Copies host data into a new buffer. */
  upload(data: TypedArray, dtype: DType): BackendBuffer;
  /** Releases a buffer; called exactly once per buffer by core. */
  free(buffer: BackendBuffer): void;
  /** Resolves to the view's elements in row-major order. */
  read(view: View): Promise<TypedArray>;
  /** Present only when capabilities.readSync is true. */
  readSync?(view: View): TypedArray;
  /** Live buffers and bytes held by this backend (for leak tests and `memoryStats()`). */
  memory(): { buffers: number; bytes: number };

  // --- creation -------------------------------------------------------------------------------------------
  fill(size: number, value: number, dtype: DType): BackendBuffer;
  /**
   * Counter-based random numbers: element i is a pure function of (seed, counter + i), so every backend that
   * implements the shared algorithm (see core's random.ts) gives the same numbers for the same seed.
   */
  random(size: number, kind: RandomKind, seed: number, counter: number, dtype: DType): BackendBuffer;

  // --- compute (all outputs contiguous and new) -------------------------------------------------------------
  /** Strided copy with cast: the contiguous materialization of a view. */
  copy(x: View, outDtype: DType): BackendBuffer;
  /** Writes src (already broadcast to dst's shape) into dst's strided positions, in place. */
  assign(dst: View, src: View): void;
  unary(op: UnaryOp, x: View, outDtype: DType): BackendBuffer;
  /** a and b are already broadcast to the same shape (stride 0 on broadcast dims). */
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): BackendBuffer;
  /** Elementwise select; all three views share one shape. */
  where(cond: View, a: View, b: View, outDtype: DType): BackendBuffer;
  /** Reduces the listed axes (sorted, unique); output shape is x's shape without them. */
  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): BackendBuffer;
  /** Batched matmul: a [...batch, M, K] × b [...batch, K, N] with identical batch shapes → [...batch, M, N]. */
  matmul(a: View, b: View, outDtype: DType): BackendBuffer;
  /** out[...i...] = x[... index[...i...] at `dim` ...]; output has index's shape. */
  gather(x: View, dim: number, index: View): BackendBuffer;
  /** Returns a copy of base where positions named by index along dim are set to (or incremented by) src. */
  scatter(mode: 'set' | 'add', base: View, dim: number, index: View, src: View): BackendBuffer;
  /** Inclusive prefix sum along one axis. */
  cumsum(x: View, dim: number, outDtype: DType): BackendBuffer;
  /** Stable sort along the last axis; indices are int32 positions along that axis. */
  sort(x: View, descending: boolean): { values: BackendBuffer; indices: BackendBuffer };

  // --- capture (optional; core's capture() re-runs the function where these are missing) ------------------------
  /** Starts recording every kernel and upload this backend enqueues. */
  beginCapture?(): void;
  /**
   * Stops recording. Every buffer the recorded work touched stays reserved for the recording (a freed one is not
   * reused elsewhere) until it is disposed, so replays never write into another tensor's memory.
   */
  endCapture?(): CapturedWork;
  /** Stops recording and drops what was recorded (the captured function threw). */
  abortCapture?(): void;
}
