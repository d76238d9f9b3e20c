/**
 * The GPU runtime under the backend: pipeline cache, batched command encoding, a parameter arena, a buffer pool and
 * readback. Ops only enqueue: dispatches accumulate in one command encoder and go to the queue in one submit, either
 * when a read needs them, when the batch is full, or when JS yields (a microtask), so a whole training step is a
 * handful of submits and no op waits for the GPU.
 */
/// <reference types="@webgpu/types" />
import { ArgumentError, DeviceError } from '@tessera/core';
import type { Params } from './params.js';

const WORKGROUP = 64;
/** Dispatches per submit before the batch is sent anyway (a long synchronous loop must not queue without bound). */
const MAX_BATCH = 128;
/** Bytes of the per-batch arena that holds kernel parameters and small uploads. */
const ARENA_BYTES = 1 << 20;
/** Uploads up to this size go through the arena (ordered with the batch); larger ones get a fresh mapped buffer. */
const SMALL_UPLOAD = 64 << 10;
/** Freed buffers kept for reuse, in bytes; beyond this they are destroyed. */
const POOL_BYTES = 64 << 20;
/** Words of the parameter window each dispatch sees (binding 0, at a dynamic offset into the arena). */
const PARAM_WORDS = 256;
/** Cached bind groups before the cache is dropped and rebuilt. */
const MAX_BIND_GROUPS = 8192;
const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** Codes kernels raise through the error word (binding E); read() turns them into errors. */
export const KERNEL_ERRORS: Record<number, string> = {
  1: 'gather: an index is out of bounds for the gathered dimension (indices must lie in [0, size); found on the GPU)',
  2: 'scatter: an index is out of bounds for the scattered dimension (indices must lie in [0, size); found on the GPU)',
};

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export interface KernelSource {
  readonly name: string;
  readonly code: string;
}

/** Rounds a byte size up to a size class (4 per octave), so freed buffers fit later requests. */
function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 256) return b;
  const top = 2 ** Math.floor(Math.log2(b));
  const step = top / 4;
  return Math.ceil(b / step) * step;
}

export class Runtime {
  readonly device: GPUDevice;
  /** Word alignment of parameter blocks inside the arena (minStorageBufferOffsetAlignment). */
  private readonly align: number;
  private readonly pipelines = new Map<string, Compiled>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private passPipeline: GPUComputePipeline | null = null;
  private pending = 0;
  private flushQueued = false;
  private readonly arena: GPUBuffer;
  private readonly arenaHost = new Uint32Array(ARENA_BYTES / 4);
  private arenaWords = 0;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private toDestroy: GPUBuffer[] = [];
  /** One word kernels set (atomicMax) when they meet bad input; read() checks and clears it. */
  readonly errorWord: GPUBuffer;
  private deviceError: string | null = null;
  liveBuffers = 0;
  liveBytes = 0;

  constructor(device: GPUDevice) {
    this.device = device;
    this.align = Math.max(16, device.limits.minStorageBufferOffsetAlignment) / 4;
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: STORAGE_USAGE });
    this.errorWord = device.createBuffer({ size: 16, usage: STORAGE_USAGE });
    const onError = (e: GPUUncapturedErrorEvent) => {
      this.deviceError ??= e.error.message;
    };
    // A listener rather than the onuncapturederror slot, so several backends may share one device.
    if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
    else device.onuncapturederror = onError;
    void device.lost.then((info) => {
      this.deviceError ??= `the GPU device was lost (${info.reason}): ${info.message}`;
    });
  }

  // ---- buffers ------------------------------------------------------------------------------------------------
  /** A storage buffer of at least `bytes` bytes, from the pool when one fits. */
  alloc(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const reuse = this.pool.get(size)?.pop();
    this.liveBuffers++;
    this.liveBytes += size;
    if (reuse) {
      this.pooledBytes -= size;
      return reuse;
    }
    return this.device.createBuffer({ size, usage: STORAGE_USAGE });
  }

  /** Returns a buffer to the pool (or destroys it once the queued work that may use it is submitted). */
  release(buffer: GPUBuffer): void {
    this.liveBuffers--;
    this.liveBytes -= buffer.size;
    if (this.pooledBytes + buffer.size <= POOL_BYTES) {
      this.pooledBytes += buffer.size;
      const list = this.pool.get(buffer.size) ?? [];
      list.push(buffer);
      this.pool.set(buffer.size, list);
    } else {
      this.toDestroy.push(buffer);
      this.scheduleFlush();
    }
  }

  /** Writes host words into a buffer, in order with the queued dispatches. */
  upload(words: Uint32Array): GPUBuffer {
    const bytes = words.length * 4;
    if (bytes > SMALL_UPLOAD) {
      // A brand-new buffer mapped at creation: nothing queued can be using it.
      const size = sizeClass(bytes);
      const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, mappedAtCreation: true });
      new Uint32Array(buffer.getMappedRange(), 0, words.length).set(words);
      buffer.unmap();
      this.liveBuffers++;
      this.liveBytes += size;
      return buffer;
    }
    const buffer = this.alloc(bytes);
    if (words.length === 0) return buffer;
    const at = this.reserveArena(words.length);
    this.arenaHost.set(words, at);
    this.enc().copyBufferToBuffer(this.arena, at * 4, buffer, 0, bytes);
    this.didEncode();
    return buffer;
  }

  // ---- dispatch -----------------------------------------------------------------------------------------------
  /**
   * Pipelines use explicit layouts (read from the WGSL's binding declarations) so that binding 0, the parameter
   * block, can take a dynamic offset: then a bind group depends only on the pipeline and its buffers, and a training
   * loop that reuses pooled buffers reuses its bind groups instead of creating one per dispatch.
   */
  private pipeline(kernel: KernelSource): Compiled {
    let c = this.pipelines.get(kernel.name);
    if (!c) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (const m of kernel.code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*(read_write|read)>/g)) {
        const binding = Number(m[1]);
        entries.push({ binding, visibility: 4 /* COMPUTE */, buffer: { type: m[2] === 'read' ? 'read-only-storage' : 'storage', hasDynamicOffset: binding === 0 } });
      }
      const layout = this.device.createBindGroupLayout({ label: kernel.name, entries });
      const module = this.device.createShaderModule({ label: kernel.name, code: kernel.code });
      const pipeline = this.device.createComputePipeline({
        label: kernel.name,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
      c = { pipeline, layout };
      this.pipelines.set(kernel.name, c);
    }
    return c;
  }

  private bindGroup(kernel: KernelSource, c: Compiled, buffers: GPUBuffer[]): GPUBindGroup {
    let key = kernel.name;
    for (const b of buffers) key += ':' + this.idOf(b);
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups.clear();
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: this.arena, offset: 0, size: PARAM_WORDS * 4 } },
        ...buffers.map((buffer, k) => ({ binding: k + 1, resource: { buffer } })),
      ];
      group = this.device.createBindGroup({ layout: c.layout, entries });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  private idOf(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  /**
   * Enqueues one dispatch: binding 0 is the parameter block, bindings 1… are `buffers` in order. `groups` is the
   * number of workgroups wanted in total (spread over x and y, since each dimension is capped at 65535) or an
   * explicit [x, y, z] grid.
   */
  dispatch(kernel: KernelSource, params: Params, buffers: GPUBuffer[], groups: number | [number, number, number]): void {
    const [x, y, z] = typeof groups === 'number' ? spread(groups) : groups;
    if (x === 0 || y === 0 || z === 0) return;
    if (params.length > PARAM_WORDS) throw new DeviceError(`${kernel.name}: too many dims for the webgpu backend (${params.length} parameter words)`);
    const c = this.pipeline(kernel);
    const at = this.reserveArena(params.length);
    for (let k = 0; k < params.length; k++) this.arenaHost[at + k] = params.words[k]!;
    const group = this.bindGroup(kernel, c, buffers);
    if (!this.pass) {
      this.pass = this.enc().beginComputePass();
      this.passPipeline = null;
    }
    if (this.passPipeline !== c.pipeline) {
      this.pass.setPipeline(c.pipeline);
      this.passPipeline = c.pipeline;
    }
    this.pass.setBindGroup(0, group, [at * 4]);
    this.pass.dispatchWorkgroups(x, y, z);
    this.didEncode();
  }

  /** Workgroups needed for one thread per element at the prelude's workgroup size. */
  static groupsFor(elements: number): number {
    return Math.ceil(elements / WORKGROUP);
  }

  /** The command encoder outside any compute pass (for copies). */
  private enc(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Word offset for `words` words in the arena, aligned for dynamic offsets, with a whole parameter window after it. */
  private reserveArena(words: number): number {
    let at = Math.ceil(this.arenaWords / this.align) * this.align;
    if (at + Math.max(words, PARAM_WORDS) > this.arenaHost.length) {
      this.flush();
      at = 0;
    }
    this.arenaWords = at + Math.max(words, 1);
    return at;
  }

  private didEncode(): void {
    if (++this.pending >= MAX_BATCH) this.flush();
    else this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Sends everything encoded so far to the GPU. */
  flush(): void {
    if (this.encoder) {
      this.enc(); // ends an open compute pass
      if (this.arenaWords > 0) this.device.queue.writeBuffer(this.arena, 0, this.arenaHost, 0, Math.ceil(this.arenaWords / 4) * 4);
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.pending = 0;
      this.arenaWords = 0;
    }
    // Destroying after submit is safe: the GPU finishes the submitted work that uses them first.
    if (this.toDestroy.length) {
      // Their bind groups must go too; cached groups are cheap to rebuild.
      this.bindGroups.clear();
      for (const b of this.toDestroy) b.destroy();
      this.toDestroy = [];
    }
  }

  // ---- readback -----------------------------------------------------------------------------------------------
  /** Copies `words` words at word offset `from` of `src` to the host, with the kernel error word. */
  async readWords(src: GPUBuffer, from: number, words: number): Promise<Uint32Array> {
    const staging = this.device.createBuffer({ size: words * 4 + 16, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */ });
    const enc = this.enc();
    if (words > 0) enc.copyBufferToBuffer(src, from * 4, staging, 0, words * 4);
    enc.copyBufferToBuffer(this.errorWord, 0, staging, words * 4, 16);
    enc.clearBuffer(this.errorWord);
    this.pending++;
    this.flush();
    try {
      await staging.mapAsync(0x01 /* GPUMapMode.READ */);
    } catch (e) {
      staging.destroy();
      throw new DeviceError(`webgpu: reading a buffer failed: ${this.deviceError ?? String(e)}`);
    }
    const all = new Uint32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    this.throwIfFailed();
    const code = all[words]!;
    if (code !== 0) throw new ArgumentError(KERNEL_ERRORS[code] ?? `webgpu: a kernel reported error ${code}`);
    return all.subarray(0, words);
  }

  /** Rethrows a validation error or device loss Dawn reported since the last check. */
  throwIfFailed(): void {
    if (this.deviceError) {
      const msg = this.deviceError;
      this.deviceError = null;
      throw new DeviceError(`webgpu: ${msg}`);
    }
  }
}

/** Spreads a workgroup count over x and y (each at most 65535); kernels rebuild the index from num_workgroups. */
function spread(groups: number): [number, number, number] {
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}
