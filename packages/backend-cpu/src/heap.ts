/**
 * The heap: one growable shared `WebAssembly.Memory` holding every tensor, with a size-class free-list allocator.
 *
 * Layout: the first 64 KiB are reserved (thread control block at 0, kernel descriptors at DESC_BASE); blocks are
 * 64-byte aligned (cache lines, SIMD loads). Sizes round up to a class (multiples of 64 bytes up to 1 KiB, then four
 * classes per power of two, so at most 25% slack); a freed block goes on its class's free list and is reused for the
 * next request of that class. Training loops allocate the same shapes every step, so the heap reaches a steady
 * state. WebAssembly memory cannot shrink; freed blocks are only ever reused.
 */
import { wasm, type WasmMemory } from './wasm/api.js';

export const PAGE = 65536;
/** Int32 slots of the thread control block at address 0. */
export const CTRL_BASE = 0;
export const CTRL_BYTES = 1024;
/** Kernel descriptors (shapes, strides, pointers) are written here before each kernel call. */
export const DESC_BASE = 1024;
export const DESC_BYTES = PAGE - DESC_BASE;
const RESERVED = PAGE;
const ALIGN = 64;
/** 4 GiB: the wasm32 limit. Shared memories reserve address space for the maximum up front, not memory. */
const MAX_PAGES = 65536;

export function sizeClass(bytes: number): number {
  if (bytes <= ALIGN) return ALIGN;
  if (bytes <= 1024) return Math.ceil(bytes / ALIGN) * ALIGN;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const step = pow / 4;
  return Math.ceil(bytes / step) * step;
}

export interface HeapStats {
  /** Bytes of the wasm memory. */
  memoryBytes: number;
  /** Bytes handed out to live blocks (class sizes). */
  usedBytes: number;
  /** Bytes sitting on free lists. */
  freeBytes: number;
  liveBlocks: number;
}

export class Heap {
  readonly memory: WasmMemory;
  u8!: Uint8Array;
  i32!: Int32Array;
  f32!: Float32Array;
  f64!: Float64Array;
  private top = RESERVED;
  private readonly free = new Map<number, number[]>();
  private used = 0;
  private freeBytes = 0;
  private live = 0;

  constructor(initialPages = 64) {
    this.memory = new wasm.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
    this.refreshViews();
  }

  get maximumPages(): number {
    return MAX_PAGES;
  }

  private refreshViews(): void {
    const buf = this.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.f32 = new Float32Array(buf);
    this.f64 = new Float64Array(buf);
  }

  /** Returns a 64-byte aligned block of at least `bytes` bytes. */
  alloc(bytes: number): number {
    const cls = sizeClass(bytes);
    const list = this.free.get(cls);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      // Keep a cache line of slack past the top so a kernel's vector tail may over-read a block harmlessly.
      this.ensure(ptr + cls + ALIGN);
      this.top += cls;
    } else this.freeBytes -= cls;
    this.used += cls;
    this.live++;
    return ptr;
  }

  /** Returns a block to its class's free list; `bytes` is the size it was allocated with. */
  release(ptr: number, bytes: number): void {
    const cls = sizeClass(bytes);
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(ptr);
    this.used -= cls;
    this.freeBytes += cls;
    this.live--;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const need = Math.ceil((end - have) / PAGE);
    // Grow geometrically so a growing model does not grow the memory once per tensor.
    const pages = Math.min(Math.max(need, Math.ceil(have / PAGE / 4)), MAX_PAGES - have / PAGE);
    if (pages < need) throw new RangeError(`cpu backend: out of memory (WebAssembly memory is limited to 4 GiB; ${end} bytes requested)`);
    this.memory.grow(pages);
    this.refreshViews();
  }

  stats(): HeapStats {
    return { memoryBytes: this.memory.buffer.byteLength, usedBytes: this.used, freeBytes: this.freeBytes, liveBlocks: this.live };
  }
}
