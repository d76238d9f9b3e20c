/**
 * Shared parts of the attention modules: head split/merge (head-major layout, spec §1.2), the Linear initialisers
 * the reference models use, and argument checks.
 */
import { ArgumentError, fmtShape, ShapeError, Tensor } from '@tessera/core';
import { Linear, normal_, truncNormal_, zeros_, type FactoryOptions } from '@tessera/nn';

/** [..., T, H·d] → [..., H, T, d]: feature j belongs to head ⌊j/d⌋ (PyTorch's view(B, T, H, d)). */
export function splitHeads(x: Tensor, numHeads: number, headDim: number): Tensor {
  if (x.ndim < 2 || x.shape.at(-1) !== numHeads * headDim)
    throw new ShapeError(`splitHeads: expected [..., T, ${numHeads}·${headDim}], got ${fmtShape(x.shape)}`);
  return x.unflatten(-1, [numHeads, headDim]).transpose(-3, -2);
}

/** [..., H, T, d] → [..., T, H·d], the inverse of {@link splitHeads}. */
export function mergeHeads(x: Tensor): Tensor {
  if (x.ndim < 3) throw new ShapeError(`mergeHeads: expected [..., H, T, d], got ${fmtShape(x.shape)}`);
  return x.transpose(-3, -2).flatten(-2);
}

/**
 * How a module initialises its Linear layers:
 * - 'default': PyTorch's Linear default (kaiming-uniform a=√5, bias U(±1/√in));
 * - { normal: std }: N(0, std²) weights and zero biases (Hugging Face LLaMA-family `_init_weights`, std 0.02);
 * - { truncNormal: std }: truncated normal (±2 absolute, timm's trunc_normal_) and zero biases (ViT / CrossViT).
 */
export type LinearInit = 'default' | { normal: number } | { truncNormal: number };

/** A Linear layer initialised as `init` says. */
export function makeLinear(inFeatures: number, outFeatures: number, bias: boolean, init: LinearInit, opts: FactoryOptions): Linear {
  const lin = new Linear(inFeatures, outFeatures, { ...opts, bias });
  if (init === 'default') return lin;
  if ('normal' in init) normal_(lin.weight, 0, init.normal, { generator: opts.generator });
  else truncNormal_(lin.weight, 0, init.truncNormal, -2, 2, { generator: opts.generator });
  if (lin.bias) zeros_(lin.bias);
  return lin;
}

/** Throws unless every named value is a positive integer. */
export function checkPositiveInts(op: string, values: Record<string, number | undefined>): void {
  for (const [name, v] of Object.entries(values))
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${v}`);
}

/** Throws unless x is [B, T, width]. */
export function checkSequence(op: string, name: string, x: Tensor, width: number): void {
  if (x.ndim !== 3 || x.shape[2] !== width)
    throw new ShapeError(`${op}: ${name} must be [batch, tokens, ${width}], got ${fmtShape(x.shape)}`);
}
