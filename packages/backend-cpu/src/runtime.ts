/**
 * The runtime shared by all ops: heap, thread pool and kernel cache, buffer bookkeeping, and the launcher for
 * loop-nest kernels (collapse dims → pick the specialization → write the descriptor → run on the pool).
 */
import type { BackendBuffer, DType, View } from '@tessera/core';
import { BYTES } from './codegen/dtypes.js';
import { descWords, writeNestDesc, type StrideClass } from './codegen/nest.js';
import { Heap, DESC_BASE, DESC_BYTES } from './heap.js';
import { KernelCache, type KernelModule } from './kernel-cache.js';
import { collapse, numel, strideClass } from './layout.js';
import { ThreadPool, type Kernel } from './threads/pool.js';

/**
 * A family of kernels that differ only in rank and innermost stride classes (e.g. "add on float32"): `build`
 * generates one member. A runtime finds members by a small integer, so launching a cached kernel builds no strings.
 */
export class KernelFamily {
  constructor(
    readonly key: string,
    readonly build: (m: KernelModule, nd: number, classes: readonly StrideClass[]) => void,
  ) {}
}

type Part = string | number | boolean;

/** Families memoized by a few parts (op name, dtypes, flags) through nested maps. */
export class FamilyCache<P extends Part[]> {
  private readonly root = new Map<Part, unknown>();
  constructor(private readonly make: (...parts: P) => KernelFamily) {}
  get(...parts: P): KernelFamily {
    let node = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      let next = node.get(parts[i]!) as Map<Part, unknown> | undefined;
      if (!next) node.set(parts[i]!, (next = new Map()));
      node = next;
    }
    const last = parts[parts.length - 1]!;
    let fam = node.get(last) as KernelFamily | undefined;
    if (!fam) node.set(last, (fam = this.make(...parts)));
    return fam;
  }
}

const CLASS_CODE: Record<StrideClass, number> = { c: 0, s: 1, g: 2 };

export class CpuBuffer implements BackendBuffer {
  freed = false;
  constructor(
    readonly ptr: number,
    readonly size: number,
    readonly dtype: DType,
  ) {}
  get bytes(): number {
    return this.size * BYTES[this.dtype];
  }
}

/** One operand of a nest kernel: byte address of its first element and element strides over the index space. */
export interface NestOperand {
  addr: number;
  strides: readonly number[];
  elem: number;
}

/** The widest index space a nest kernel is generated for; more dims (rare, after collapsing) loop in JS. */
export const MAX_ND = 6;
/**
 * Work units (≈ simple elementwise element-ops, ~0.15 ns each) each extra thread must get: waking a parked worker
 * costs tens of microseconds (more on a busy machine), so an op is split only when every slice is worth ~40 µs.
 */
const WORK_PER_THREAD = 1 << 18;

export class Runtime {
  readonly heap = new Heap();
  readonly pool = new ThreadPool(this.heap);
  readonly kernels = new KernelCache(this.heap);
  /** Compiled members of each family on this runtime's memory. */
  private readonly members = new Map<KernelFamily, Map<number, Kernel>>();
  private live = 0;
  private liveBytes = 0;

  alloc(dtype: DType, size: number): CpuBuffer {
    const buf = new CpuBuffer(this.heap.alloc(Math.max(1, size) * BYTES[dtype]), size, dtype);
    this.live++;
    this.liveBytes += buf.bytes;
    return buf;
  }

  free(buffer: BackendBuffer): void {
    const b = buffer as CpuBuffer;
    if (b.freed) throw new Error('cpu backend: buffer freed twice');
    b.freed = true;
    this.heap.release(b.ptr, Math.max(1, b.size) * BYTES[b.dtype]);
    this.live--;
    this.liveBytes -= b.bytes;
  }

  memory(): { buffers: number; bytes: number } {
    return { buffers: this.live, bytes: this.liveBytes };
  }

  /** Number of threads worth using for `work` units. */
  parts(work: number): number {
    return Math.max(1, Math.floor(work / WORK_PER_THREAD));
  }

  /** A nest operand for a view (or a contiguous output buffer with `strides`). */
  operand(v: View | { buffer: BackendBuffer; strides: readonly number[]; offset: number; dtype: DType }): NestOperand {
    const b = v.buffer as CpuBuffer;
    const elem = BYTES[v.dtype];
    return { addr: b.ptr + v.offset * elem, strides: v.strides, elem };
  }

  /**
   * Runs a loop-nest kernel of `family` over `shape`; `cost` is the work per element in units of a simple
   * elementwise op (for the threading decision); `extra` words follow the nest descriptor.
   */
  nest(shape: readonly number[], operands: readonly NestOperand[], family: KernelFamily, cost = 1, extra: readonly number[] = []): void {
    const total = numel(shape);
    if (total === 0) return;
    const c = collapse(shape, operands.map((o) => o.strides));
    if (c.shape.length > MAX_ND) {
      // Peel the leading dim in JS.
      const rest = c.shape.slice(1);
      for (let i = 0; i < c.shape[0]!; i++) {
        const ops = operands.map((o, k) => ({ addr: o.addr + i * c.strides[k]![0]! * o.elem, strides: c.strides[k]!.slice(1), elem: o.elem }));
        this.nest(rest, ops, family, cost, extra);
      }
      return;
    }
    const nd = c.shape.length;
    let id = nd;
    for (let k = 0, scale = 8; k < c.strides.length; k++, scale *= 3) id += scale * CLASS_CODE[strideClass(c.strides[k]![nd - 1]!)];
    let members = this.members.get(family);
    if (!members) this.members.set(family, (members = new Map()));
    let k = members.get(id);
    if (!k) {
      const classes = c.strides.map((st) => strideClass(st[nd - 1]!));
      k = this.kernels.get(`${family.key}:${nd}:${classes.join('')}`, (m) => family.build(m, nd, classes));
      members.set(id, k);
    }
    const words = descWords(nd, operands.length);
    if ((words + extra.length) * 4 > DESC_BYTES) throw new Error('cpu backend: kernel descriptor too large');
    if (extra.length) this.heap.i32.set(extra, DESC_BASE / 4 + words);
    writeNestDesc(
      this.heap.i32,
      DESC_BASE / 4,
      c.shape,
      operands.map((o, i) => ({ addr: o.addr, strides: c.strides[i]!.map((s) => s * o.elem) })),
    );
    this.pool.run(k, DESC_BASE, total, this.parts(total * cost));
  }
}
