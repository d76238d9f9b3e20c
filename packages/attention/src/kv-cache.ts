/**
 * Key/value caches for incremental decoding (spec §9.8). A layer's cache receives the new tokens' keys and values
 * (already RoPE-rotated, [B, H_kv, L, d]) and returns everything the new queries attend to, with the absolute
 * position of every key slot so the caller can build the right mask (bottom-right causal, sliding window, empty
 * slots).
 *
 * Cache writes are not part of the autograd graph: stored history is a constant. In grad mode the returned keys and
 * values are fresh tensors (history concatenated with the live new keys), so gradients reach the current call's
 * projections and no saved tensor aliases a buffer that later calls write into. Under noGrad they are views of the
 * buffers (no copy), valid until the next update.
 */
import { ArgumentError, cat, DTypeError, fmtShape, isGradEnabled, keep, noGrad, ShapeError, Tensor, zeros, type DType } from '@tessera/core';

const BYTES: Record<DType, number> = { float16: 2, float32: 4, float64: 8, int32: 4, bool: 1 };

/** What a cache hands back to the attention of the current call. */
export interface CacheUpdate {
  /** Keys to attend to, [B, H_kv, S, d_k]. */
  keys: Tensor;
  /** Values to attend to, [B, H_kv, S, d_v]. */
  values: Tensor;
  /** Absolute position of each key slot (−1 = empty slot, never attended). */
  keyPositions: readonly number[];
  /** Absolute positions of the new tokens (the queries of this call). */
  queryPositions: readonly number[];
  /** Keys are positions 0..S−1 in order, so a bottom-right causal mask is exact and no position mask is needed. */
  contiguous: boolean;
}

/** A per-layer cache for self-attention decoding. */
export interface AttentionCache {
  /** Number of positions consumed so far (P): the next token's absolute position. */
  readonly length: number;
  /** Number of tokens currently stored per sequence. */
  readonly storedTokens: number;
  /** Appends keys/values of L new tokens at positions P…P+L−1 and returns what the new queries attend to. */
  update(keys: Tensor, values: Tensor): CacheUpdate;
  /** Keeps the first `length` positions (negative: drops that many from the end). */
  trim(length: number): void;
  /** Bytes stored per token per sequence (0 before the first update). */
  bytesPerToken(): number;
  /** Bytes currently held in live buffers, all sequences. */
  bytes(): number;
  /** Forgets everything (buffers are freed). */
  reset(): void;
  dispose(): void;
}

/**
 * A copy of the first n slots of a buffer. Grad mode needs a copy, not a view: autograd refuses a backward through
 * an op whose input's storage was written after the op ran, and the buffer is written by the next update.
 */
const history = (buf: Tensor, n: number): Tensor => noGrad(() => buf.narrow(2, 0, n).clone());

/** The length after trimming to `length` (negative counts from the end), clamped to [0, current]. */
function trimmedLength(op: string, current: number, length: number): number {
  if (!Number.isInteger(length)) throw new ArgumentError(`${op}: length must be an integer, got ${length}`);
  return Math.max(0, Math.min(current, length < 0 ? current + length : length));
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** Shape bookkeeping shared by the caches: every update must match the first one's batch, heads, widths, dtype. */
class CacheLayout {
  batch = 0;
  heads = 0;
  keyDim = 0;
  valueDim = 0;
  dtype: DType = 'float32';
  device = '';
  set = false;

  check(op: string, k: Tensor, v: Tensor): number {
    if (k.ndim !== 4 || v.ndim !== 4 || k.shape[0] !== v.shape[0] || k.shape[1] !== v.shape[1] || k.shape[2] !== v.shape[2])
      throw new ShapeError(`${op}: expected keys [B, H_kv, L, d_k] and values [B, H_kv, L, d_v], got ${fmtShape(k.shape)} and ${fmtShape(v.shape)}`);
    if (k.dtype !== v.dtype) throw new DTypeError(`${op}: keys and values must share a dtype, got ${k.dtype} and ${v.dtype}`);
    if (!this.set) {
      [this.batch, this.heads, this.keyDim, this.valueDim] = [k.shape[0]!, k.shape[1]!, k.shape[3]!, v.shape[3]!];
      [this.dtype, this.device, this.set] = [k.dtype, k.device, true];
    } else if (k.shape[0] !== this.batch || k.shape[1] !== this.heads || k.shape[3] !== this.keyDim || v.shape[3] !== this.valueDim || k.dtype !== this.dtype)
      throw new ShapeError(
        `${op}: new keys ${fmtShape(k.shape)} / values ${fmtShape(v.shape)} (${k.dtype}) do not match the cache ` +
          `[${this.batch}, ${this.heads}, *, ${this.keyDim}] / [${this.batch}, ${this.heads}, *, ${this.valueDim}] (${this.dtype})`,
      );
    return k.shape[2]!;
  }
  alloc(slots: number, width: number): Tensor {
    return keep(zeros([this.batch, this.heads, slots, width], { dtype: this.dtype, device: this.device }));
  }
  bytesPerToken(): number {
    return this.set ? this.heads * (this.keyDim + this.valueDim) * BYTES[this.dtype] : 0;
  }
}

/**
 * The standard growing cache (Hugging Face's DynamicCache, stored in preallocated buffers that double when full, so
 * an append costs O(L) amortized). Keeps every token: 2·H_kv·d_h elements per token.
 */
export class KVCache implements AttentionCache {
  private k: Tensor | null = null;
  private v: Tensor | null = null;
  private len = 0;
  private readonly layout = new CacheLayout();
  private readonly initialCapacity: number;

  /** `capacity`: slots to allocate up front (default 64; grows by doubling). */
  constructor(opts: { capacity?: number } = {}) {
    this.initialCapacity = opts.capacity ?? 64;
    if (!Number.isInteger(this.initialCapacity) || this.initialCapacity < 1)
      throw new ArgumentError(`KVCache: capacity must be a positive integer, got ${opts.capacity}`);
  }

  get length(): number {
    return this.len;
  }
  get storedTokens(): number {
    return this.len;
  }
  /** Allocated slots per sequence. */
  get capacity(): number {
    return this.k?.shape[2] ?? 0;
  }

  update(keys: Tensor, values: Tensor): CacheUpdate {
    const L = this.layout.check('KVCache.update', keys, values);
    const P = this.len;
    this.reserve(P + L);
    noGrad(() => {
      this.k!.narrow(2, P, L).copy_(keys);
      this.v!.narrow(2, P, L).copy_(values);
    });
    this.len = P + L;
    const live = isGradEnabled();
    const pick = (buf: Tensor, fresh: Tensor) =>
      live ? (P === 0 ? fresh : cat([history(buf, P), fresh], 2)) : buf.narrow(2, 0, P + L);
    return {
      keys: pick(this.k!, keys),
      values: pick(this.v!, values),
      keyPositions: range(0, P + L),
      queryPositions: range(P, P + L),
      contiguous: true,
    };
  }

  /** Makes room for `slots` tokens per sequence. */
  reserve(slots: number): void {
    if (!this.layout.set) throw new ArgumentError('KVCache.reserve: the cache learns its shapes from the first update');
    if (slots <= this.capacity) return;
    const cap = Math.max(slots, 2 * this.capacity, this.initialCapacity);
    const [k, v] = [this.layout.alloc(cap, this.layout.keyDim), this.layout.alloc(cap, this.layout.valueDim)];
    if (this.len > 0)
      noGrad(() => {
        k.narrow(2, 0, this.len).copy_(this.k!.narrow(2, 0, this.len));
        v.narrow(2, 0, this.len).copy_(this.v!.narrow(2, 0, this.len));
      });
    this.k?.dispose();
    this.v?.dispose();
    [this.k, this.v] = [k, v];
  }

  /**
   * Keeps the first `length` tokens (a negative length drops that many from the end), like Hugging Face's
   * DynamicCache.crop; e.g. to roll back rejected speculative tokens. The buffers are kept for reuse.
   */
  trim(length: number): void {
    this.len = trimmedLength('KVCache.trim', this.len, length);
  }

  bytesPerToken(): number {
    return this.layout.bytesPerToken();
  }
  bytes(): number {
    return this.len * this.layout.batch * this.bytesPerToken();
  }
  /** Bytes of the allocated buffers (capacity, not just the filled part). */
  allocatedBytes(): number {
    return this.capacity * this.layout.batch * this.bytesPerToken();
  }
  reset(): void {
    this.dispose();
    this.len = 0;
  }
  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = this.v = null;
  }
}

/**
 * A rolling-buffer cache for sliding-window attention (Mistral): W slots, token p stored in slot p mod W, so at
 * most W tokens are kept (spec §9.5). A call with L > 1 tokens attends to the W old slots plus its own L keys
 * (capacity W + L − 1 effectively used), then stores the last min(L, W) of them.
 */
export class SlidingWindowKVCache implements AttentionCache {
  readonly window: number;
  private k: Tensor | null = null;
  private v: Tensor | null = null;
  private slotPositions: number[];
  private len = 0;
  private readonly layout = new CacheLayout();

  constructor(window: number) {
    if (!Number.isInteger(window) || window < 1) throw new ArgumentError(`SlidingWindowKVCache: window must be a positive integer, got ${window}`);
    this.window = window;
    this.slotPositions = new Array<number>(window).fill(-1);
  }

  get length(): number {
    return this.len;
  }
  get storedTokens(): number {
    return this.slotPositions.filter((p) => p >= 0).length;
  }

  update(keys: Tensor, values: Tensor): CacheUpdate {
    const L = this.layout.check('SlidingWindowKVCache.update', keys, values);
    if (!this.k) [this.k, this.v] = [this.layout.alloc(this.window, this.layout.keyDim), this.layout.alloc(this.window, this.layout.valueDim)];
    const P = this.len;
    const queryPositions = range(P, P + L);
    const live = isGradEnabled();
    let out: CacheUpdate;
    if (L === 1 && !live && P > 0) {
      // Decoding: the new token overwrites position P − W, which its query could not see anyway.
      this.store(keys, values, P, 1);
      out = { keys: this.k, values: this.v!, keyPositions: [...this.slotPositions], queryPositions, contiguous: false };
    } else if (P === 0) {
      out = { keys, values, keyPositions: queryPositions, queryPositions, contiguous: true };
      this.store(keys, values, P, L);
    } else {
      // Copies of the old slots: store() overwrites them next.
      out = { keys: cat([history(this.k, this.window), keys], 2), values: cat([history(this.v!, this.window), values], 2), keyPositions: [...this.slotPositions, ...queryPositions], queryPositions, contiguous: false };
      this.store(keys, values, P, L);
    }
    this.len = P + L;
    return out;
  }

  /** Writes the last min(L, W) new tokens into their slots (at most two contiguous runs). */
  private store(keys: Tensor, values: Tensor, P: number, L: number): void {
    const W = this.window;
    const n = Math.min(L, W);
    let src = L - n;
    noGrad(() => {
      while (src < L) {
        const slot = (P + src) % W;
        const run = Math.min(L - src, W - slot);
        this.k!.narrow(2, slot, run).copy_(keys.narrow(2, src, run));
        this.v!.narrow(2, slot, run).copy_(values.narrow(2, src, run));
        for (let i = 0; i < run; i++) this.slotPositions[slot + i] = P + src + i;
        src += run;
      }
    });
  }

  /** Keeps positions below `length` (negative: drops that many from the end); older evicted tokens stay evicted. */
  trim(length: number): void {
    this.len = trimmedLength('SlidingWindowKVCache.trim', this.len, length);
    this.slotPositions = this.slotPositions.map((p) => (p >= this.len ? -1 : p));
  }

  bytesPerToken(): number {
    return this.layout.bytesPerToken();
  }
  bytes(): number {
    return this.slotPositions.filter((p) => p >= 0).length * this.layout.batch * this.bytesPerToken();
  }
  reset(): void {
    this.dispose();
    this.len = 0;
    this.slotPositions.fill(-1);
  }
  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = this.v = null;
  }
}

/**
 * The static cache of cross-attention (spec §5.1): the source's keys and values, computed once per source sequence
 * and reused for every generated token. Its size depends on the source length only.
 */
export class StaticKVCache {
  readonly keys: Tensor;
  readonly values: Tensor;
  /** Bool [B, 1, 1, S] key mask (true = real source token), or null. */
  readonly keyMask: Tensor | null;

  constructor(keys: Tensor, values: Tensor, keyMask: Tensor | null = null) {
    if (keys.ndim !== 4 || values.ndim !== 4 || keys.shape[2] !== values.shape[2])
      throw new ShapeError(`StaticKVCache: expected keys [B, H, S, d_k] and values [B, H, S, d_v], got ${fmtShape(keys.shape)} and ${fmtShape(values.shape)}`);
    this.keys = keep(keys);
    this.values = keep(values);
    this.keyMask = keyMask ? keep(keyMask) : null;
  }
  /** Source length S. */
  get sourceLength(): number {
    return this.keys.shape[2]!;
  }
  /** Bytes per source token per sequence: H·(d_k + d_v) elements. */
  bytesPerToken(): number {
    return this.keys.shape[1]! * (this.keys.shape[3]! + this.values.shape[3]!) * BYTES[this.keys.dtype];
  }
  bytes(): number {
    return this.sourceLength * this.keys.shape[0]! * this.bytesPerToken();
  }
  dispose(): void {
    this.keys.dispose();
    this.values.dispose();
    this.keyMask?.dispose();
  }
}

/**
 * The caches of a stack of attention layers. With Cross-Layer Attention (sharing factor s) consecutive blocks of s
 * layers share one cache, so it is indexed by block: layer ℓ uses cache ⌊ℓ/s⌋ (spec §9.2).
 */
export class LayerCaches {
  readonly caches: AttentionCache[];
  readonly sharingFactor: number;
  readonly numLayers: number;

  constructor(numLayers: number, factory: (block: number) => AttentionCache, sharingFactor = 1) {
    if (!Number.isInteger(sharingFactor) || sharingFactor < 1) throw new ArgumentError(`LayerCaches: sharingFactor must be a positive integer, got ${sharingFactor}`);
    this.numLayers = numLayers;
    this.sharingFactor = sharingFactor;
    this.caches = Array.from({ length: Math.ceil(numLayers / sharingFactor) }, (_, b) => factory(b));
  }
  /** The cache layer ℓ reads (and writes, if it is its block's first layer). */
  forLayer(layer: number): AttentionCache {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers)
      throw new ArgumentError(`LayerCaches.forLayer: layer ${layer} is out of range for ${this.numLayers} layers`);
    return this.caches[Math.floor(layer / this.sharingFactor)]!;
  }
  /** Positions consumed so far. */
  get length(): number {
    return this.caches[0]?.length ?? 0;
  }
  /** Bytes per token per sequence for the whole stack. */
  bytesPerToken(): number {
    return this.caches.reduce((n, c) => n + c.bytesPerToken(), 0);
  }
  bytes(): number {
    return this.caches.reduce((n, c) => n + c.bytes(), 0);
  }
  reset(): void {
    for (const c of this.caches) c.reset();
  }
  dispose(): void {
    for (const c of this.caches) c.dispose();
  }
}
