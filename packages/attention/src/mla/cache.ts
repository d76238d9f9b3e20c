/**
 * The compressed KV cache of Multi-head Latent Attention (spec §7.5): per token only the RMS-normalised KV latent
 * c^KV (d_c elements) and the rotated shared rope key k^R (d_r elements) — no head axis. With DeepSeek-V2/V3's dims
 * that is 512 + 64 = 576 elements per token per layer.
 *
 * Both are stored side by side in one preallocated buffer [B, capacity, d_c + d_r] that doubles when full, so the
 * absorbed attention reads [c ; k^R] as one key tensor without copying. As in the shared KVCache, writes are outside
 * the autograd graph; in grad mode the returned tensors are history (a constant) concatenated with the live new rows.
 */
import { ArgumentError, cat, DTypeError, fmtShape, isGradEnabled, keep, noGrad, ShapeError, Tensor, zeros } from '@tessera/core';

/** What the attention of the current call reads from the cache. */
export interface LatentCacheUpdate {
  /** [B, S, d_c + d_r]: normalised latents followed by rotated rope keys, for every position 0..S−1. */
  combined: Tensor;
  /** Number of positions before this call (P). */
  pastLength: number;
}

/** Growing cache of MLA latents and rope keys. */
export class MLACache {
  private buf: Tensor | null = null;
  private len = 0;
  private batch = 0;
  readonly latentDim: number;
  readonly ropeDim: number;

  constructor(latentDim: number, ropeDim: number, private readonly initialCapacity = 64) {
    for (const [n, v] of Object.entries({ latentDim, ropeDim, initialCapacity }))
      if (!Number.isInteger(v) || v < (n === 'ropeDim' ? 0 : 1)) throw new ArgumentError(`MLACache: ${n} must be a positive integer, got ${v}`);
    this.latentDim = latentDim;
    this.ropeDim = ropeDim;
  }

  /** Positions stored so far (the next token's absolute position). */
  get length(): number {
    return this.len;
  }
  get capacity(): number {
    return this.buf?.shape[1] ?? 0;
  }

  /** The stored normalised latents [B, S, d_c] (a view; valid until the next update). */
  get latents(): Tensor | null {
    return this.buf ? this.buf.narrow(1, 0, this.len).narrow(2, 0, this.latentDim) : null;
  }
  /** The stored rotated rope keys [B, S, d_r] (a view; valid until the next update). */
  get ropeKeys(): Tensor | null {
    return this.buf ? this.buf.narrow(1, 0, this.len).narrow(2, this.latentDim, this.ropeDim) : null;
  }

  /** Appends L new tokens' [latent ; rope key] rows ([B, L, d_c + d_r]) and returns every position's rows. */
  update(rows: Tensor): LatentCacheUpdate {
    const width = this.latentDim + this.ropeDim;
    if (rows.ndim !== 3 || rows.shape[2] !== width)
      throw new ShapeError(`MLACache.update: expected [batch, tokens, ${this.latentDim} + ${this.ropeDim}], got ${fmtShape(rows.shape)}`);
    if (this.buf && (rows.shape[0] !== this.batch || rows.dtype !== this.buf.dtype))
      throw new DTypeError(`MLACache.update: new rows ${fmtShape(rows.shape)} (${rows.dtype}) do not match the cache's batch ${this.batch} (${this.buf.dtype})`);
    this.batch = rows.shape[0]!;
    const [P, L] = [this.len, rows.shape[1]!];
    this.reserve(rows, P + L);
    noGrad(() => this.buf!.narrow(1, P, L).copy_(rows));
    this.len = P + L;
    const live = isGradEnabled() && rows.requiresGrad;
    const combined = live ? (P === 0 ? rows : cat([this.buf!.narrow(1, 0, P), rows], 1)) : this.buf!.narrow(1, 0, P + L);
    return { combined, pastLength: P };
  }

  private reserve(like: Tensor, slots: number): void {
    if (slots <= this.capacity) return;
    const cap = Math.max(slots, 2 * this.capacity, this.initialCapacity);
    const next = keep(zeros([this.batch, cap, this.latentDim + this.ropeDim], { dtype: like.dtype, device: like.device }));
    if (this.buf && this.len > 0) noGrad(() => next.narrow(1, 0, this.len).copy_(this.buf!.narrow(1, 0, this.len)));
    this.buf?.dispose();
    this.buf = next;
  }

  /** Elements stored per token per sequence: d_c + d_r. */
  elementsPerToken(): number {
    return this.latentDim + this.ropeDim;
  }
  reset(): void {
    this.dispose();
    this.len = 0;
  }
  dispose(): void {
    this.buf?.dispose();
    this.buf = null;
  }
}
