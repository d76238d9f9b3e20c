/** Typed errors of @tessera/nn; each extends core's TesseraError so one `instanceof` catches any Tessera failure. */
import { fmtShape, TesseraError } from '@tessera/core';

export interface ShapeMismatch {
  key: string;
  /** Shape of the tensor in the model. */
  expected: readonly number[];
  /** Shape found in the state dict. */
  got: readonly number[];
}

/** `loadStateDict` found missing or unexpected keys (strict mode) or tensors whose shapes do not match. */
export class StateDictError extends TesseraError {
  constructor(
    readonly owner: string,
    readonly missingKeys: readonly string[],
    readonly unexpectedKeys: readonly string[],
    readonly shapeMismatches: readonly ShapeMismatch[],
  ) {
    const quote = (keys: readonly string[]) => keys.map((k) => `"${k}"`).join(', ');
    const lines = [`Error(s) in loading stateDict for ${owner}:`];
    if (missingKeys.length) lines.push(`  Missing key(s) in stateDict: ${quote(missingKeys)}.`);
    if (unexpectedKeys.length) lines.push(`  Unexpected key(s) in stateDict: ${quote(unexpectedKeys)}.`);
    for (const m of shapeMismatches)
      lines.push(`  size mismatch for ${m.key}: copying a tensor with shape ${fmtShape(m.got)} from the stateDict, the shape in the current model is ${fmtShape(m.expected)}.`);
    super(lines.join('\n'));
  }
}

/** What was wrong with a safetensors file, for callers that branch on it. */
export type SafetensorsErrorCode =
  | 'truncated'
  | 'header-too-large'
  | 'invalid-header'
  | 'invalid-metadata'
  | 'invalid-entry'
  | 'unsupported-dtype'
  | 'invalid-offsets'
  | 'shape-mismatch'
  | 'lossy-conversion'
  | 'invalid-tensor';

/** A safetensors file (or the tensors given to the writer) is malformed, hostile or cannot be represented. */
export class SafetensorsError extends TesseraError {
  constructor(
    readonly code: SafetensorsErrorCode,
    message: string,
  ) {
    super(`safetensors: ${message}`);
  }
}

/** A training-state checkpoint does not match the model/optimizer/scheduler it is loaded into. */
export class CheckpointError extends TesseraError {}
