/**
 * Attention masks. Internally a mask is either a bool tensor (true = may attend, SDPA's polarity) or an additive
 * float bias (0 = may attend, −∞ = may not), broadcastable to [..., L, S]. Public APIs use three different bool
 * conventions (spec §1.3), so every module converts at its boundary with the helpers below.
 *
 * Masks are built with tensor ops on the device (no host-side L×S arrays and no readback).
 */
import { arange, ArgumentError, DTypeError, fmtShape, full, isFloat, ShapeError, tensor, Tensor, type DType } from '@tessera/core';

/** Where the causal diagonal sits when the query and key counts differ (spec §1.4). */
export type CausalAlignment = 'topLeft' | 'bottomRight';

export interface CausalMaskOptions {
  /** 'topLeft' (query i sees keys j ≤ i, PyTorch's isCausal) or 'bottomRight' (j ≤ i + S − L, decoding). */
  alignment?: CausalAlignment;
  /** Sliding window: additionally require (i + shift) − j < window, i.e. `window` keys including the query's own. */
  window?: number | null;
  /** Backend for the mask; the current backend otherwise. */
  device?: string;
}

/** A bool [L, S] causal mask (true = may attend) with the given alignment and optional sliding window. */
export function causalMask(L: number, S: number, opts: CausalMaskOptions = {}): Tensor {
  const { alignment = 'topLeft', window = null, device } = opts;
  for (const [name, v] of Object.entries({ L, S }))
    if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`causalMask: ${name} must be a non-negative integer, got ${v}`);
  checkWindow('causalMask', window);
  const shift = alignment === 'bottomRight' ? S - L : 0;
  const rows = arange(0, L, 1, { device }).add(shift).reshape([L, 1]);
  const cols = arange(0, S, 1, { device }).reshape([1, S]);
  const allowed = cols.le(rows);
  return window == null ? allowed : allowed.logicalAnd(rows.sub(cols).lt(window));
}

export interface PositionMaskOptions {
  /** Keys after the query's position are hidden (default true). */
  causal?: boolean;
  /** Keys at distance ≥ window behind the query are hidden (sliding-window attention). */
  window?: number | null;
  device?: string;
}

/**
 * A bool [L, S] mask from absolute positions: query i (at queryPositions[i]) may see key j (at keyPositions[j]) iff
 * the key slot is filled (position ≥ 0), and, if causal, kp ≤ qp, and, with a window, qp − kp < window. Used by the
 * KV caches, whose key slots may be out of order (rolling buffers) or empty (−1).
 */
export function positionMask(queryPositions: readonly number[], keyPositions: readonly number[], opts: PositionMaskOptions = {}): Tensor {
  const { causal = true, window = null, device } = opts;
  checkWindow('positionMask', window);
  const qp = tensor(Int32Array.from(queryPositions), { device }).reshape([queryPositions.length, 1]);
  const kp = tensor(Int32Array.from(keyPositions), { device }).reshape([1, keyPositions.length]);
  let allowed = kp.ge(0).expand([queryPositions.length, keyPositions.length]);
  if (causal) allowed = allowed.logicalAnd(kp.le(qp));
  if (window != null) allowed = allowed.logicalAnd(qp.sub(kp).lt(window));
  return allowed;
}

function checkWindow(op: string, window: number | null | undefined): void {
  if (window != null && (!Number.isInteger(window) || window < 1))
    throw new ArgumentError(`${op}: window must be a positive integer (keys including the query's own), got ${window}`);
}

/** A bool mask (true = may attend) or a float one as an additive bias: 0 where allowed, −∞ where not. */
export function toAdditiveMask(mask: Tensor, dtype: DType = 'float32'): Tensor {
  if (mask.dtype === 'bool') return full(mask.shape, 0, { dtype, device: mask.device }).maskedFill(mask.logicalNot(), -Infinity);
  if (!isFloat(mask.dtype)) throw new DTypeError(`toAdditiveMask: expected a bool or float mask, got ${mask.dtype}`);
  return mask;
}

/**
 * Combines masks in the internal polarity (bool true = may attend, float = added): bool ∧ bool stays bool;
 * anything with a float becomes a float bias (−∞ where a bool mask forbids). Nulls are skipped.
 */
export function combineMasks(...masks: (Tensor | null | undefined)[]): Tensor | null {
  const present = masks.filter((m): m is Tensor => m != null);
  if (present.length === 0) return null;
  if (present.every((m) => m.dtype === 'bool')) return present.reduce((a, b) => a.logicalAnd(b));
  const dtype = present.find((m) => m.dtype !== 'bool')!.dtype;
  return present.map((m) => toAdditiveMask(m, dtype)).reduce((a, b) => a.add(b));
}

/**
 * Converts an `nn.MultiheadAttention`-style mask (bool true = blocked, float = added) to the internal polarity
 * (bool true = may attend). Float masks pass through.
 */
export function fromBlockedPolarity(mask: Tensor): Tensor {
  if (mask.dtype === 'bool') return mask.logicalNot();
  if (!isFloat(mask.dtype)) throw new DTypeError(`mask: expected bool or float, got ${mask.dtype}`);
  return mask;
}

/**
 * A Hugging Face-style 2-D attention mask [B, S] (1/true = real token, 0/false = padding) as a bool key mask
 * [B, 1, 1, S] (true = may attend), ready to broadcast over heads and queries.
 */
export function paddingToKeyMask(attentionMask: Tensor, keyLength?: number): Tensor {
  if (attentionMask.ndim !== 2)
    throw new ShapeError(`attention mask: expected [batch, keys] with 1 = real token and 0 = padding, got ${fmtShape(attentionMask.shape)}`);
  if (keyLength !== undefined && attentionMask.shape[1] !== keyLength)
    throw new ShapeError(`attention mask: covers ${attentionMask.shape[1]} keys but the attention sees ${keyLength} (cached + new); pass the mask for all of them`);
  const keep = attentionMask.dtype === 'bool' ? attentionMask : attentionMask.ne(0);
  return keep.reshape([attentionMask.shape[0]!, 1, 1, attentionMask.shape[1]!]);
}
