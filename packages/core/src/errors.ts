/**
 * Typed errors. Every message names the op, the shapes/dtypes involved and what was expected, so a user can fix
 * the call without reading Tessera's source.
 */
export class TesseraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** Incompatible or invalid shapes, dims or sizes. */
export class ShapeError extends TesseraError {}
/** An op was given a dtype it does not support, or dtypes that cannot be combined. */
export class DTypeError extends TesseraError {}
/** Misuse of autograd: freed graphs, missing gradients, non-scalar backward, … */
export class AutogradError extends TesseraError {}
/** Tensors on different devices/backends, or an unknown backend. */
export class DeviceError extends TesseraError {}
/** A tensor (or its storage) was used after being disposed. */
export class DisposedError extends TesseraError {}
/** Any other invalid argument (bad option values, out-of-range indices, …). */
export class ArgumentError extends TesseraError {}

/** Formats a shape like PyTorch does: [2, 3]. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
