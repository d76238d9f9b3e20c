/**
 * The 'webgpu' backend: core's primitives as WGSL kernels. Every dtype but float16 is stored as one 32-bit word per
 * element (float32 as f32, int32 as i32, bool as u32 0/1), so all kernels share one addressing scheme and a cast is
 * a word conversion. float16 (devices with 'shader-f16') is stored as real halves, two per word: kernels read them
 * through their dtype code and write them in lazily compiled variants (kernels/half.ts). float64 does not exist in
 * WGSL: uploading, creating or casting to it throws a DTypeError, as float16 does without 'shader-f16'.
 */
/// <reference types="@webgpu/types" />
import {
  ArgumentError, DTypeError, ReferenceBackend, type Backend, type BackendCapabilities, type BackendBuffer, type CapturedWork, type BinaryOp, type DType, type FusedKernels, type RandomKind,
  type ReduceOp, type TypedArray, type UnaryOp, type View,
} from '@tessera/core';
import { BINARY, binaryCode, COPY, FILL, RANDOM, UNARY, unaryCode, WHERE } from './kernels/elementwise.js';
import { CUMSUM, GATHER, SCATTER } from './kernels/indexing.js';
import { MATMUL, MATMUL_TILE, MATMUL_TILED, MATMUL_TILED_TILE } from './kernels/matmul.js';
import { MATMUL_LARGE, MATMUL_LARGE_TILE } from './kernels/matmul-large.js';
import { REDUCE, REDUCE_OPS } from './kernels/reduce.js';
import { makeFused } from './fused-host.js';
import { makeOptimKernels } from './optim-host.js';
import { sortLastAxis } from './sort-host.js';
import { halfAttention, packHalves, unpackHalves, wordsFor } from './half-host.js';
import { halfVariant } from './kernels/half.js';
import { coalesce, contiguousStrides, dtCode, numel, Params, wordOf } from './params.js';
import { Runtime, type GpuChunk, type KernelSource } from './runtime.js';

/**
 * A GPU buffer of `size` elements. Small int32 and bool buffers whose contents are known on the host (uploaded, or
 * computed elementwise from such buffers) keep a host mirror on a private reference backend, so gather and scatter
 * can reject a bad index synchronously, like the reference backend, instead of only at the next read.
 */
export class WebGPUBuffer implements BackendBuffer {
  mirror: BackendBuffer | null = null;
  constructor(
    readonly size: number,
    readonly dtype: DType,
    readonly gpu: GpuChunk,
  ) {}
}

const MIRROR_MAX = 1 << 14;
/** @internal The GPU chunk behind a view or buffer of this backend (host code of the kernels uses it too). */
export const gpuOf = (v: View | BackendBuffer): GpuChunk => ('buffer' in v ? (v.buffer as WebGPUBuffer) : (v as WebGPUBuffer)).gpu;
/** The reduction axes' extent below which one thread per output beats a 64-lane tree. */
const SERIAL_REDUCE = 32;
/** 'auto' uses the 128×128-tile matmul from this many output tiles up (an H100 has 132 multiprocessors). */
const LARGE_MIN_WORKGROUPS = 128;
/** Split-K aims at this many workgroups, with at least this much depth per slice. */
const SPLIT_K_WORKGROUPS = 128;
const SPLIT_K_MIN_DEPTH = 64;

/**
 * 'blocked': registers only, no barriers (for CPU drivers such as lavapipe and SwiftShader, where barriers are slow);
 * 'tiled': 64×64 workgroup tiles through shared memory; 'large': 128×128 tiles, 8×8 per thread (big products on
 * GPUs); 'auto': 'large' or 'tiled' by the product's size.
 */
export type MatmulKernel = 'auto' | 'blocked' | 'tiled' | 'large';

export interface WebGPUBackendOptions {
  /** Registered name (default 'webgpu'). */
  name?: string;
  /** Anything that must stay reachable while the device lives (Dawn's GPU object in Node). */
  keepAlive?: unknown;
  /** Matmul kernel (see MatmulKernel). Default: 'blocked' on software adapters, else 'auto'. */
  matmul?: MatmulKernel;
}

/** Whether the device runs on a CPU implementation of Vulkan/WebGPU (lavapipe, SwiftShader, WARP). */
export function isSoftwareDevice(device: GPUDevice): boolean {
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info) return false;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /software|swiftshader|llvmpipe|lavapipe|warp|microsoft basic render/.test(text);
}

export class WebGPUBackend implements Backend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** Whether the device has 'shader-f16' (then float16 tensors are stored as halves). */
  readonly float16: boolean;
  readonly fused: FusedKernels;
  readonly rt: Runtime;
  /** Host mirrors of small index and mask buffers (never registered). */
  private readonly host = new ReferenceBackend();
  /** Held so Dawn's GPU object is never collected while this backend (registered forever) exists. */
  readonly keepAlive: unknown;
  /** Which matmul kernel this backend dispatches. */
  readonly matmulKernel: MatmulKernel;

  constructor(
    readonly device: GPUDevice,
    opts: WebGPUBackendOptions = {},
  ) {
    this.name = opts.name ?? 'webgpu';
    this.keepAlive = opts.keepAlive;
    this.matmulKernel = opts.matmul ?? (isSoftwareDevice(device) ? 'blocked' : 'auto');
    this.rt = new Runtime(device);
    this.float16 = device.features.has('shader-f16');
    this.capabilities = { readSync: false, dtypes: this.float16 ? ['bool', 'int32', 'float16', 'float32'] : ['bool', 'int32', 'float32'] };
    this.fused = { ...halfAttention(this, makeFused(this)), ...makeOptimKernels(this) };
  }

  // ---- memory ---------------------------------------------------------------------------------------------
  /** @internal A new, uninitialized buffer for `size` elements, outside `apart`'s buffers (see Runtime.alloc). */
  make(op: string, size: number, dtype: DType, apart?: readonly GpuChunk[]): WebGPUBuffer {
    this.checkDtype(op, dtype);
    return new WebGPUBuffer(size, dtype, this.rt.alloc(wordsFor(size, dtype) * 4, apart));
  }

  private checkDtype(op: string, dtype: DType): void {
    dtCode(op, dtype);
    if (dtype === 'float16' && !this.float16)
      throw new DTypeError(
        `${op}: the '${this.name}' backend cannot store float16 on this device: the adapter lacks the 'shader-f16' ` +
          "feature (or the device was created without it); use float32 with .to('float32')",
      );
  }

  /** The kernel, or its variant that writes output `binding` as float16 when `dtype` is float16. */
  private out16(kernel: KernelSource, dtype: DType, binding = 'Y'): KernelSource {
    return dtype === 'float16' ? halfVariant(kernel, { output: binding }) : kernel;
  }

  /** Sets the first `size` elements of a buffer to `value`. */
  private fillInto(gpu: GpuChunk, size: number, value: number, dtype: DType): void {
    const words = wordsFor(size, dtype);
    this.rt.dispatch(FILL, new Params().u(words, wordOf(value, dtype)), [gpu], Runtime.groupsFor(words));
  }

  upload(data: TypedArray, dtype: DType): BackendBuffer {
    this.checkDtype('upload', dtype);
    if (dtype === 'float16') return new WebGPUBuffer(data.length, dtype, this.rt.upload(packHalves(data)));
    const words = new Uint32Array(data.length);
    if (dtype === 'float32') new Float32Array(words.buffer).set(data);
    else if (dtype === 'int32') {
      const ints = new Int32Array(words.buffer);
      if (data instanceof Int32Array) ints.set(data);
      else for (let i = 0; i < data.length; i++) ints[i] = Number.isFinite(data[i]) ? Math.trunc(data[i]!) | 0 : 0;
    } else for (let i = 0; i < data.length; i++) words[i] = data[i] !== 0 ? 1 : 0;
    const out = new WebGPUBuffer(data.length, dtype, this.rt.upload(words));
    if (mirrored(dtype, data.length)) out.mirror = this.host.upload(data, dtype);
    return out;
  }

  free(buffer: BackendBuffer): void {
    const b = buffer as WebGPUBuffer;
    this.rt.release(b.gpu);
    if (b.mirror) this.host.free(b.mirror);
    b.mirror = null;
  }

  /** Runs `op` on the host mirrors too when the result is a small int/bool and every input is mirrored. */
  private mirrorOf(out: WebGPUBuffer, inputs: View[], op: (h: ReferenceBackend, views: View[]) => BackendBuffer): WebGPUBuffer {
    // Not during a capture: a replay recomputes the buffer on the GPU only, and the mirror would go stale.
    if (!mirrored(out.dtype, out.size) || this.rt.capturing) return out;
    const views: View[] = [];
    for (const v of inputs) {
      const m = (v.buffer as WebGPUBuffer).mirror;
      if (!m) return out;
      views.push({ ...v, buffer: m });
    }
    out.mirror = op(this.host, views);
    return out;
  }

  // ---- capture (see core's capture() and capture.ts) ------------------------------------------------------------
  beginCapture(): void {
    this.rt.beginCapture();
  }
  endCapture(): CapturedWork {
    return this.rt.endCapture();
  }
  abortCapture(): void {
    this.rt.abortCapture();
  }

  memory() {
    return { buffers: this.rt.liveBuffers, bytes: this.rt.liveBytes };
  }

  async read(view: View): Promise<TypedArray> {
    dtCode('read', view.dtype);
    const n = numel(view.shape);
    if (view.dtype === 'float16') return this.readHalves(view, n);
    let words: Uint32Array;
    if (isDense(view)) words = await this.rt.readWords(gpuOf(view), view.offset, n);
    else {
      const tmp = this.copy(view, view.dtype) as WebGPUBuffer;
      const pending = this.rt.readWords(tmp.gpu, 0, n);
      this.free(tmp);
      words = await pending;
    }
    if (view.dtype === 'float32') return new Float32Array(words.buffer, words.byteOffset, n);
    if (view.dtype === 'int32') return new Int32Array(words.buffer, words.byteOffset, n);
    return Uint8Array.from(words);
  }

  /** A float16 view's elements as float32 values (reads whole words, so an odd offset reads one half more). */
  private async readHalves(view: View, n: number): Promise<Float32Array> {
    if (isDense(view)) {
      const skip = view.offset & 1;
      const words = await this.rt.readWords(gpuOf(view), view.offset >> 1, (skip + n + 1) >> 1);
      return unpackHalves(words, skip, n);
    }
    const tmp = this.copy(view, view.dtype) as WebGPUBuffer;
    const pending = this.rt.readWords(tmp.gpu, 0, wordsFor(n, 'float16'));
    this.free(tmp);
    return unpackHalves(await pending, 0, n);
  }

  // ---- creation -------------------------------------------------------------------------------------------
  fill(size: number, value: number, dtype: DType): BackendBuffer {
    const out = this.make('fill', size, dtype);
    this.fillInto(out.gpu, size, value, dtype);
    return this.mirrorOf(out, [], (h) => h.fill(size, value, dtype));
  }

  random(size: number, kind: RandomKind, key: number, start: number, dtype: DType): BackendBuffer {
    if (dtype === 'float16') {
      // core draws float16 from the float32 stream itself; this keeps a direct call correct too.
      this.checkDtype('random', dtype);
      const f = this.random(size, kind, key, start, 'float32');
      const out = this.copy({ buffer: f, shape: [size], strides: [1], offset: 0, dtype: 'float32' }, dtype);
      this.free(f);
      return out;
    }
    const out = this.make('random', size, dtype);
    const p = new Params().u(size, kind === 'uniform' ? 0 : 1, key, start, dtCode('random', dtype));
    this.rt.dispatch(RANDOM, p, [out.gpu], Runtime.groupsFor(size));
    return out;
  }

  // ---- elementwise ----------------------------------------------------------------------------------------
  copy(x: View, outDtype: DType): BackendBuffer {
    const out = this.make('copy', numel(x.shape), outDtype);
    this.copyInto(x, out.gpu, contiguousStrides(x.shape), 0, outDtype);
    return this.mirrorOf(out, [x], (h, [v]) => h.copy(v!, outDtype));
  }

  /** Y[dst layout] = cast(x) over x's shape. */
  private copyInto(x: View, dst: GpuChunk, dstStrides: readonly number[], dstOffset: number, outDtype: DType): void {
    const n = numel(x.shape);
    const c = coalesce(x.shape, x.strides, dstStrides);
    const p = new Params().u(n, dtCode('copy', x.dtype), dtCode('copy', outDtype));
    const [src, dstView] = [p.slot(), p.slot()];
    p.set(src, p.view(c.shape, c.strides[0]!, x.offset));
    p.set(dstView, p.view(c.shape, c.strides[1]!, dstOffset));
    this.rt.dispatch(this.out16(COPY, outDtype), p, [gpuOf(x), dst], Runtime.groupsFor(n));
  }

  assign(dst: View, src: View): void {
    const target = dst.buffer as WebGPUBuffer;
    const srcMirror = (src.buffer as WebGPUBuffer).mirror;
    if (target.mirror && srcMirror) this.host.assign({ ...dst, buffer: target.mirror }, { ...src, buffer: srcMirror });
    else if (target.mirror) {
      this.host.free(target.mirror);
      target.mirror = null;
    }
    if (numel(dst.shape) === 0) return;
    // Reading and writing one buffer in one dispatch is not allowed (and overlap must behave like a copy).
    let source = src;
    let tmp: WebGPUBuffer | null = null;
    if (src.buffer === dst.buffer) {
      tmp = this.copy(src, src.dtype) as WebGPUBuffer;
      source = { buffer: tmp, shape: src.shape, strides: contiguousStrides(src.shape), offset: 0, dtype: src.dtype };
    }
    this.copyInto(source, target.gpu, dst.strides, dst.offset, dst.dtype);
    if (tmp) this.free(tmp);
  }

  unary(op: UnaryOp, x: View, outDtype: DType): BackendBuffer {
    const n = numel(x.shape);
    const out = this.make(op, n, outDtype);
    const c = coalesce(x.shape, x.strides);
    const p = new Params().u(n, unaryCode(op), dtCode(op, x.dtype), dtCode(op, outDtype));
    p.view(c.shape, c.strides[0]!, x.offset);
    this.rt.dispatch(this.out16(UNARY, outDtype), p, [gpuOf(x), out.gpu], Runtime.groupsFor(n));
    return this.mirrorOf(out, [x], (h, [v]) => h.unary(op, v!, outDtype));
  }

  binary(op: BinaryOp, a: View, b: View, outDtype: DType): BackendBuffer {
    const n = numel(a.shape);
    const out = this.make(op, n, outDtype);
    const c = coalesce(a.shape, a.strides, b.strides);
    const p = new Params().u(n, binaryCode(op), dtCode(op, a.dtype), dtCode(op, outDtype));
    const [va, vb] = [p.slot(), p.slot()];
    p.set(va, p.view(c.shape, c.strides[0]!, a.offset));
    p.set(vb, p.view(c.shape, c.strides[1]!, b.offset));
    this.rt.dispatch(this.out16(BINARY, outDtype), p, [gpuOf(a), gpuOf(b), out.gpu], Runtime.groupsFor(n));
    return this.mirrorOf(out, [a, b], (h, [va, vb]) => h.binary(op, va!, vb!, outDtype));
  }

  where(cond: View, a: View, b: View, outDtype: DType): BackendBuffer {
    const n = numel(cond.shape);
    const out = this.make('where', n, outDtype);
    const c = coalesce(cond.shape, cond.strides, a.strides, b.strides);
    const p = new Params().u(n);
    const slots = [p.slot(), p.slot(), p.slot()];
    p.u(dtCode('where', outDtype));
    [cond, a, b].forEach((v, k) => p.set(slots[k]!, p.view(c.shape, c.strides[k]!, v.offset)));
    this.rt.dispatch(this.out16(WHERE, outDtype), p, [gpuOf(cond), gpuOf(a), gpuOf(b), out.gpu], Runtime.groupsFor(n));
    return this.mirrorOf(out, [cond, a, b], (h, [vc, va, vb]) => h.where(vc!, va!, vb!, outDtype));
  }

  // ---- reductions and linear algebra ----------------------------------------------------------------------
  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): BackendBuffer {
    const keep = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const outerShape = keep.map((d) => x.shape[d]!);
    const innerShape = axes.map((d) => x.shape[d]!);
    const [nOut, nInner] = [numel(outerShape), numel(innerShape)];
    if (op !== 'sum' && op !== 'prod' && nInner === 0 && nOut > 0)
      throw new ArgumentError(`${op}: cannot reduce over an empty dimension (shape [${x.shape.join(', ')}])`);
    const out = this.make(op, nOut, outDtype);
    const serial = nInner <= SERIAL_REDUCE;
    const outer = coalesce(outerShape, keep.map((d) => x.strides[d]!));
    // The inner order must stay row-major for arg* (first occurrence), so only merge, never reorder.
    const inner = coalesce(innerShape, axes.map((d) => x.strides[d]!));
    const p = new Params().u(nOut, nInner, REDUCE_OPS[op], dtCode(op, x.dtype), dtCode(op, outDtype), serial ? 1 : 0);
    const [vo, vi] = [p.slot(), p.slot()];
    p.set(vo, p.view(outer.shape, outer.strides[0]!, x.offset));
    p.set(vi, p.view(inner.shape, inner.strides[0]!, 0));
    this.rt.dispatch(this.out16(REDUCE, outDtype), p, [gpuOf(x), out.gpu], serial ? Runtime.groupsFor(nOut) : nOut);
    return out;
  }

  matmul(a: View, b: View, outDtype: DType): BackendBuffer {
    // The kernel reads f32 (or, in its float16 variant, two float16 operands); other operands go through a cast to
    // f32 (exact for integers below 2^24, like float accumulation would be).
    const half = a.dtype === 'float16' && b.dtype === 'float16';
    if (!half && (a.dtype !== 'float32' || b.dtype !== 'float32')) {
      const fa = this.asF32(a);
      const fb = this.asF32(b);
      const out = this.matmul(fa.view, fb.view, outDtype);
      fa.done();
      fb.done();
      return out;
    }
    const nd = a.shape.length;
    const [M, K, N] = [a.shape[nd - 2]!, a.shape[nd - 1]!, b.shape[nd - 1]!];
    const batchShape = a.shape.slice(0, nd - 2);
    const batch = numel(batchShape);
    const split = half || outDtype !== 'float32' ? 1 : this.splitK(M, K, N, batch);
    if (split > 1) {
      // Split-K as a batched product: slice s of K is batch s of both operands (no new kernel); then a sum over s.
      const kk = K / split;
      const [sam, sak, sbk, sbn] = [a.strides[nd - 2]!, a.strides[nd - 1]!, b.strides[nd - 2]!, b.strides[nd - 1]!];
      const a3: View = { ...a, shape: [split, M, kk], strides: [sak * kk, sam, sak] };
      const b3: View = { ...b, shape: [split, kk, N], strides: [sbk * kk, sbk, sbn] };
      const partial = this.matmul(a3, b3, 'float32');
      const sums = this.reduce('sum', { buffer: partial, shape: [split, M * N], strides: [M * N, 1], offset: 0, dtype: 'float32' }, [0], 'float32');
      this.free(partial);
      return sums;
    }
    const out = this.make('matmul', batch * M * N, outDtype, [gpuOf(a), gpuOf(b)]);
    if (batch * M * N === 0) return out;
    if (K === 0) {
      this.fillInto(out.gpu, batch * M * N, 0, outDtype);
      return out;
    }
    const [sam, sak, sbk, sbn] = [a.strides[nd - 2]!, a.strides[nd - 1]!, b.strides[nd - 2]!, b.strides[nd - 1]!];
    for (let z0 = 0; z0 < batch; z0 += 65535) {
      const p = new Params().u(M, K, N, dtCode('matmul', outDtype)).i(sam, sak, sbk, sbn).u(z0);
      const [va, vb] = [p.slot(), p.slot()];
      // P[11]: the large kernel may read aligned float32 operands as vec4 (its A4/B4 bindings alias A and B).
      p.u(half ? 0 : 1);
      p.set(va, p.view(batchShape, a.strides.slice(0, nd - 2), a.offset));
      p.set(vb, p.view(batchShape, b.strides.slice(0, nd - 2), b.offset));
      const [kernel, tile] = this.matmulVariant(M, N, batch);
      const grid: [number, number, number] = [Math.ceil(N / tile), Math.ceil(M / tile), Math.min(65535, batch - z0)];
      const variant = halfVariant(kernel, { inputs: half ? ['A', 'B'] : [], output: outDtype === 'float16' ? 'Y' : null });
      const buffers = [gpuOf(a), gpuOf(b), out.gpu];
      this.rt.dispatch(variant, p, kernel === MATMUL_LARGE ? [...buffers, gpuOf(a), gpuOf(b)] : buffers, grid);
    }
    return out;
  }

  /**
   * 'auto' (GPUs) takes the 128×128-tile kernel when the product still spreads over enough workgroups to occupy a
   * large GPU, and the 64×64 one otherwise (a small product in big tiles leaves most of the GPU idle).
   */
  private matmulVariant(M: number, N: number, batch: number): [KernelSource, number] {
    const k = this.matmulKernel;
    const bigTiles = Math.ceil(M / MATMUL_LARGE_TILE) * Math.ceil(N / MATMUL_LARGE_TILE) * batch;
    if (k === 'large' || (k === 'auto' && bigTiles >= LARGE_MIN_WORKGROUPS)) return [MATMUL_LARGE, MATMUL_LARGE_TILE];
    if (k === 'blocked') return [MATMUL, MATMUL_TILE];
    return [MATMUL_TILED, MATMUL_TILED_TILE];
  }

  /**
   * How many slices of K a GPU product is split into: a product with few output tiles (a weight gradient, whose K is
   * the token count) would otherwise keep a handful of workgroups looping over all of K while the GPU idles.
   */
  private splitK(M: number, K: number, N: number, batch: number): number {
    if (this.matmulKernel !== 'auto' || batch !== 1) return 1;
    const tiles = Math.ceil(M / MATMUL_TILED_TILE) * Math.ceil(N / MATMUL_TILED_TILE);
    let s = 1;
    while (tiles * s * 2 <= SPLIT_K_WORKGROUPS && K % (s * 2) === 0 && K / (s * 2) >= SPLIT_K_MIN_DEPTH) s *= 2;
    return s;
  }

  private asF32(v: View): { view: View; done: () => void } {
    if (v.dtype === 'float32') return { view: v, done: () => {} };
    const buf = this.copy(v, 'float32');
    return { view: { buffer: buf, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0, dtype: 'float32' }, done: () => this.free(buf) };
  }

  // ---- indexing -------------------------------------------------------------------------------------------
  /** Throws now when the index data is mirrored on the host; otherwise the kernel flags it for the next read(). */
  private checkIndices(op: string, index: View, size: number): void {
    const mirror = (index.buffer as WebGPUBuffer).mirror;
    if (!mirror) return;
    for (const k of this.host.readSync({ ...index, buffer: mirror }))
      if (k < 0 || k >= size) throw new ArgumentError(`${op}: index ${k} is out of bounds for dimension of size ${size}`);
  }

  gather(x: View, dim: number, index: View): BackendBuffer {
    const n = numel(index.shape);
    this.checkIndices('gather', index, x.shape[dim]!);
    const out = this.make('gather', n, x.dtype);
    const p = new Params().u(n, x.shape[dim]!).i(x.strides[dim]!).u(dtCode('gather', x.dtype));
    const [vi, vx] = [p.slot(), p.slot()];
    p.set(vi, p.view(index.shape, index.strides, index.offset));
    p.set(vx, p.view(index.shape, x.strides.map((s, d) => (d === dim ? 0 : s)), x.offset));
    this.rt.dispatch(this.out16(GATHER, x.dtype), p, [gpuOf(x), gpuOf(index), out.gpu, this.rt.errorWord], Runtime.groupsFor(n));
    return out;
  }

  scatter(mode: 'set' | 'add', base: View, dim: number, index: View, src: View): BackendBuffer {
    this.checkIndices(mode === 'set' ? 'scatter' : 'scatterAdd', index, base.shape[dim]!);
    const out = this.copy(base, base.dtype) as WebGPUBuffer;
    const n = numel(index.shape);
    const outStrides = contiguousStrides(base.shape);
    const p = new Params().u(n, base.shape[dim]!, outStrides[dim]!, mode === 'set' ? 0 : 1, dtCode('scatter', base.dtype));
    const slots = [p.slot(), p.slot(), p.slot()];
    p.set(slots[0]!, p.view(index.shape, index.strides, index.offset));
    p.set(slots[1]!, p.view(index.shape, outStrides.map((s, d) => (d === dim ? 0 : s)), 0));
    p.set(slots[2]!, p.view(index.shape, src.strides, src.offset));
    this.rt.dispatch(SCATTER, p, [gpuOf(index), gpuOf(src), out.gpu, this.rt.errorWord], Runtime.groupsFor(n));
    return out;
  }

  cumsum(x: View, dim: number, outDtype: DType): BackendBuffer {
    const n = numel(x.shape);
    const out = this.make('cumsum', n, outDtype);
    const len = x.shape[dim]!;
    const lines = len === 0 ? 0 : n / len;
    const outStrides = contiguousStrides(x.shape);
    const drop = <T>(a: readonly T[]) => a.filter((_, d) => d !== dim);
    const p = new Params().u(lines, len, dtCode('cumsum', x.dtype), dtCode('cumsum', outDtype)).i(x.strides[dim]!).u(outStrides[dim]!);
    const [vx, vy] = [p.slot(), p.slot()];
    p.set(vx, p.view(drop(x.shape), drop(x.strides), x.offset));
    p.set(vy, p.view(drop(x.shape), drop(outStrides), 0));
    this.rt.dispatch(this.out16(CUMSUM, outDtype), p, [gpuOf(x), out.gpu], Runtime.groupsFor(lines));
    return out;
  }

  sort(x: View, descending: boolean): { values: BackendBuffer; indices: BackendBuffer } {
    return sortLastAxis(this, x, descending);
  }

}

const mirrored = (dtype: DType, size: number) => (dtype === 'int32' || dtype === 'bool') && size <= MIRROR_MAX;

/** Whether a view is the row-major run of `numel` elements starting at its offset. */
function isDense(v: View): boolean {
  let expected = 1;
  for (let d = v.shape.length - 1; d >= 0; d--) {
    if (v.shape[d] === 1) continue;
    if (v.strides[d] !== expected) return false;
    expected *= v.shape[d]!;
  }
  return true;
}
