/**
 * The 'cpu' backend: tensors live in one shared WebAssembly memory; every primitive runs as a generated
 * WebAssembly (SIMD128) kernel specialized at run time, on worker threads when the op is large enough.
 * float16 is float32 words rounded to half precision after each op (half.ts): `stored`/`asStored` below.
 */
import type { Backend, BackendBuffer, BinaryOp, DType, FusedKernels, RandomKind, ReduceOp, TypedArray, UnaryOp, View } from '@tessera/core';
import { asStored, halfFused, rounded, stored } from './half.js';
import { fill, readView, upload } from './memory-io.js';
import * as ew from './ops/elementwise.js';
import { fusedKernels } from './ops/fused.js';
import { adamStep } from './ops/optim.js';
import { cumsum, gather, random, scatter, sort } from './ops/indexing.js';
import { matmul } from './ops/matmul.js';
import { reduce } from './ops/reduce.js';
import { Runtime, type CpuBuffer } from './runtime.js';

export class CpuBackend implements Backend {
  readonly name: string;
  readonly capabilities = { readSync: true, dtypes: ['bool', 'int32', 'float16', 'float32', 'float64'] as const };
  readonly fused: FusedKernels;
  /** @internal */
  readonly rt = new Runtime();

  constructor(name = 'cpu') {
    this.name = name;
    const rt = this.rt;
    this.fused = { ...halfFused(rt, fusedKernels(rt)), adamStep: (p, g, m, v, h) => adamStep(rt, p, g, m, v, h) };
  }

  get numThreads(): number {
    return this.rt.pool.numThreads;
  }
  set numThreads(n: number) {
    this.rt.pool.numThreads = n;
  }

  // --- memory ---------------------------------------------------------------------------------------------
  upload(data: TypedArray, dtype: DType): BackendBuffer {
    return rounded(this.rt, upload(this.rt, data, stored(dtype)), dtype);
  }
  free(buffer: BackendBuffer): void {
    this.rt.free(buffer);
  }
  read(view: View): Promise<TypedArray> {
    try {
      return Promise.resolve(readView(this.rt, asStored(view)));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  readSync(view: View): TypedArray {
    return readView(this.rt, asStored(view));
  }
  memory(): { buffers: number; bytes: number } {
    return this.rt.memory();
  }
  /** Heap-level statistics (wasm memory size, bytes in use and on free lists). */
  heapStats() {
    return this.rt.heap.stats();
  }

  // --- creation -------------------------------------------------------------------------------------------
  fill(size: number, value: number, dtype: DType): BackendBuffer {
    return rounded(this.rt, fill(this.rt, size, value, stored(dtype)), dtype);
  }
  random(size: number, kind: RandomKind, seed: number, counter: number, dtype: DType): BackendBuffer {
    return rounded(this.rt, random(this.rt, size, kind, seed, counter, stored(dtype)), dtype);
  }

  // --- compute --------------------------------------------------------------------------------------------
  copy(x: View, outDtype: DType): BackendBuffer {
    const out = ew.copy(this.rt, asStored(x), stored(outDtype));
    return x.dtype === outDtype ? out : rounded(this.rt, out, outDtype);
  }
  assign(dst: View, src: View): void {
    // core casts src to dst's dtype first, so float16 values are already halves.
    ew.assign(this.rt, asStored(dst), asStored(src));
  }
  unary(op: UnaryOp, x: View, outDtype: DType): BackendBuffer {
    return rounded(this.rt, ew.unary(this.rt, op, asStored(x), stored(outDtype)), outDtype);
  }
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): BackendBuffer {
    return rounded(this.rt, ew.binary(this.rt, op, asStored(a), asStored(b), stored(outDtype)), outDtype);
  }
  where(cond: View, a: View, b: View, outDtype: DType): BackendBuffer {
    return ew.where(this.rt, cond, asStored(a), asStored(b), stored(outDtype));
  }
  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): BackendBuffer {
    return rounded(this.rt, reduce(this.rt, op, asStored(x), axes, stored(outDtype)), outDtype);
  }
  matmul(a: View, b: View, outDtype: DType): BackendBuffer {
    return rounded(this.rt, matmul(this.rt, asStored(a), asStored(b), stored(outDtype)), outDtype);
  }
  gather(x: View, dim: number, index: View): BackendBuffer {
    return gather(this.rt, asStored(x), dim, index);
  }
  scatter(mode: 'set' | 'add', base: View, dim: number, index: View, src: View): BackendBuffer {
    const out = scatter(this.rt, mode, asStored(base), dim, index, asStored(src));
    return mode === 'add' ? rounded(this.rt, out, base.dtype) : out;
  }
  cumsum(x: View, dim: number, outDtype: DType): BackendBuffer {
    return rounded(this.rt, cumsum(this.rt, asStored(x), dim, stored(outDtype)), outDtype);
  }
  sort(x: View, descending: boolean): { values: BackendBuffer; indices: BackendBuffer } {
    return sort(this.rt, asStored(x), descending);
  }
}

export type { CpuBuffer };
