/**
 * The 'cpu' backend: tensors live in one shared WebAssembly memory; every primitive runs as a generated
 * WebAssembly (SIMD128) kernel specialized at run time, on worker threads when the op is large enough.
 */
import type { Backend, BackendBuffer, BinaryOp, DType, FusedKernels, RandomKind, ReduceOp, TypedArray, UnaryOp, View } from '@tessera/core';
import { fill, readView, upload } from './memory-io.js';
import * as ew from './ops/elementwise.js';
import { fusedKernels } from './ops/fused.js';
import { cumsum, gather, random, scatter, sort } from './ops/indexing.js';
import { matmul } from './ops/matmul.js';
import { reduce } from './ops/reduce.js';
import { Runtime, type CpuBuffer } from './runtime.js';

export class CpuBackend implements Backend {
  readonly name: string;
  readonly capabilities = { readSync: true, dtypes: ['bool', 'int32', 'float32', 'float64'] as const };
  readonly fused: FusedKernels;
  /** @internal */
  readonly rt = new Runtime();

  constructor(name = 'cpu') {
    this.name = name;
    this.fused = fusedKernels(this.rt);
  }

  get numThreads(): number {
    return this.rt.pool.numThreads;
  }
  set numThreads(n: number) {
    this.rt.pool.numThreads = n;
  }

  // --- memory ---------------------------------------------------------------------------------------------
  upload(data: TypedArray, dtype: DType): BackendBuffer {
    return upload(this.rt, data, dtype);
  }
  free(buffer: BackendBuffer): void {
    this.rt.free(buffer);
  }
  read(view: View): Promise<TypedArray> {
    try {
      return Promise.resolve(readView(this.rt, view));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  readSync(view: View): TypedArray {
    return readView(this.rt, view);
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
    return fill(this.rt, size, value, dtype);
  }
  random(size: number, kind: RandomKind, seed: number, counter: number, dtype: DType): BackendBuffer {
    return random(this.rt, size, kind, seed, counter, dtype);
  }

  // --- compute --------------------------------------------------------------------------------------------
  copy(x: View, outDtype: DType): BackendBuffer {
    return ew.copy(this.rt, x, outDtype);
  }
  assign(dst: View, src: View): void {
    ew.assign(this.rt, dst, src);
  }
  unary(op: UnaryOp, x: View, outDtype: DType): BackendBuffer {
    return ew.unary(this.rt, op, x, outDtype);
  }
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): BackendBuffer {
    return ew.binary(this.rt, op, a, b, outDtype);
  }
  where(cond: View, a: View, b: View, outDtype: DType): BackendBuffer {
    return ew.where(this.rt, cond, a, b, outDtype);
  }
  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): BackendBuffer {
    return reduce(this.rt, op, x, axes, outDtype);
  }
  matmul(a: View, b: View, outDtype: DType): BackendBuffer {
    return matmul(this.rt, a, b, outDtype);
  }
  gather(x: View, dim: number, index: View): BackendBuffer {
    return gather(this.rt, x, dim, index);
  }
  scatter(mode: 'set' | 'add', base: View, dim: number, index: View, src: View): BackendBuffer {
    return scatter(this.rt, mode, base, dim, index, src);
  }
  cumsum(x: View, dim: number, outDtype: DType): BackendBuffer {
    return cumsum(this.rt, x, dim, outDtype);
  }
  sort(x: View, descending: boolean): { values: BackendBuffer; indices: BackendBuffer } {
    return sort(this.rt, x, descending);
  }
}

export type { CpuBuffer };
