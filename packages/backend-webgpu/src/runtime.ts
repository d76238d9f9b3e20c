/**
 * The GPU runtime under the backend: pipeline cache, batched command encoding, a parameter arena, a chunk allocator
 * over large GPU buffers ("slabs") and readback. Ops only enqueue: dispatches accumulate in one command encoder and
 * go to the queue in one submit, either when a read needs them, when the batch is full, or when JS yields (a
 * microtask), so a whole training step is a handful of submits and no op waits for the GPU.
 */
/// <reference types="@webgpu/types" />
import { ArgumentError, DeviceError } from '@tessera/core';
import { Params } from './params.js';
import { SET_WORDS } from './kernels/elementwise.js';
import { Recorder, type Replay, type ReplayCommand } from './capture.js';

const WORKGROUP = 64;
/** Dispatches per submit before the batch is sent anyway (a long synchronous loop must not queue without bound). */
const MAX_BATCH = 128;
/** Bytes of the per-batch arena that holds kernel parameters and small uploads. */
const ARENA_BYTES = 1 << 20;
/** Uploads up to this many words are written by a kernel from its parameters (no copy, so no compute-pass break). */
const UPLOAD_BY_KERNEL = 192;
/** Uploads up to this size go through the arena; larger ones through a mapped staging buffer (both copy in the batch). */
const SMALL_UPLOAD = 64 << 10;
/** Reads up to this many bytes reuse their mappable staging buffers. */
const STAGING_REUSE_MAX = 1 << 20;
/** Chunks up to this size are carved from shared slabs; larger ones get a GPU buffer of their own. */
const SLAB_CHUNK_MAX = 8 << 20;
/** Bytes of one slab (or one chunk, when chunks are larger). */
const SLAB_BYTES = 16 << 20;
/** Freed own-buffer chunks kept for reuse, in bytes; beyond this they are destroyed. */
const POOL_BYTES = 512 << 20;
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

export interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Storage bindings take dynamic offsets (then a bind group depends only on the slabs, not on the chunks). */
  dynamic: boolean;
  /** Per data binding (1…): whether the kernel declares it read-only. */
  readOnly: boolean[];
}

/**
 * A tensor's place on the GPU: `size` bytes at `offset` in `buffer`. Small and medium chunks share slabs of one size
 * class, so the kernels that touch them bind the same few buffers whatever chunks a step gets from the pool, and
 * their bind groups are cached (creating one costs tens of microseconds). `slab` identifies the buffer in cache keys.
 */
export interface GpuChunk {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
  readonly slab: number;
}

export interface KernelSource {
  readonly name: string;
  readonly code: string;
  /**
   * Keep the kernel's read-only input declarations (drivers cache and reorder read-only loads: matmul is ~25%
   * faster on an H100). Inputs that share a slab with the output are then copied to a buffer of their own first.
   */
  readonly readOnlyInputs?: boolean;
}

/** Appends to the list kept under `key`. */
function pushTo<K, V>(lists: Map<K, V[]>, key: K, value: V): void {
  const list = lists.get(key);
  if (list) list.push(value);
  else lists.set(key, [value]);
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
  /** Cache keys of the bind groups each slab appears in, so destroying an own-buffer chunk drops only its groups. */
  private readonly groupsOf = new Map<number, string[]>();
  /** Byte alignment of chunk offsets (minStorageBufferOffsetAlignment) and the dynamic-offset budget per layout. */
  private readonly chunkAlign: number;
  private readonly maxDynamic: number;
  private nextSlab = 0;
  /** Per size class: free chunks, and the slab being carved with its next free offset. */
  private readonly freeChunks = new Map<number, GpuChunk[]>();
  private readonly carving = new Map<number, { buffer: GPUBuffer; slab: number; next: number }>();
  /** Mappable buffers kept for small reads, by size. */
  private readonly readStaging = new Map<number, GPUBuffer[]>();
  /** Own-buffer copies for inputs that alias another binding of their dispatch (see separateAliases), by size. */
  private readonly placeholders: GpuChunk[] = [];
  private readonly spare = new Map<number, GpuChunk[]>();
  /** Mapped upload buffers whose copies are encoded; destroyed once the batch is submitted. */
  private staging: GPUBuffer[] = [];
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private passPipeline: GPUComputePipeline | null = null;
  private pending = 0;
  private flushQueued = false;
  private readonly arena: GPUBuffer;
  private readonly arenaHost = new Uint32Array(ARENA_BYTES / 4);
  private arenaWords = 0;
  private readonly pool = new Map<number, GpuChunk[]>();
  private pooledBytes = 0;
  private toDestroy: GpuChunk[] = [];
  /** One word kernels set (atomicMax) when they meet bad input; read() checks and clears it. */
  readonly errorWord: GpuChunk;
  private deviceError: string | null = null;
  liveBuffers = 0;
  liveBytes = 0;
  /** The capture being recorded, if any (see capture.ts). */
  private recorder: Recorder | null = null;
  /** How many live recordings use each chunk; a pinned chunk that is released waits in `held` instead of the pool. */
  private readonly pins = new Map<GpuChunk, number>();
  private readonly held = new Set<GpuChunk>();
  /** Dispatches and submits so far (diagnostics: small-model steps are bound by their count). */
  dispatches = 0;
  submits = 0;

  constructor(device: GPUDevice) {
    this.device = device;
    this.align = Math.max(16, device.limits.minStorageBufferOffsetAlignment) / 4;
    this.chunkAlign = this.align * 4;
    this.maxDynamic = device.limits.maxDynamicStorageBuffersPerPipelineLayout;
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: STORAGE_USAGE });
    this.errorWord = this.ownChunk(this.chunkAlign);
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
  /**
   * A chunk of at least `bytes` bytes: a freed one of its size class, a new piece of a slab, or its own buffer. With
   * `apart`, in none of their buffers: the output of a kernel with read-only inputs (matmul, attention) may not share
   * a buffer with them (else each input would be copied first, and a copy also breaks the compute pass).
   */
  alloc(bytes: number, apart?: readonly GpuChunk[]): GpuChunk {
    const chunk = this.take(bytes, apart?.length ? new Set(apart.map((c) => c.buffer)) : null);
    this.recorder?.touched.add(chunk);
    return chunk;
  }

  private take(bytes: number, apart: Set<GPUBuffer> | null): GpuChunk {
    const size = this.classOf(bytes);
    this.liveBuffers++;
    this.liveBytes += size;
    if (size > SLAB_CHUNK_MAX) {
      const reuse = this.pool.get(size)?.pop();
      if (reuse) this.pooledBytes -= size;
      return reuse ?? this.ownChunk(size);
    }
    const list = this.freeChunks.get(size);
    if (list?.length) {
      if (!apart) return list.pop()!;
      for (let i = list.length - 1; i >= 0; i--) if (!apart.has(list[i]!.buffer)) return list.splice(i, 1)[0]!;
    }
    let c = this.carving.get(size);
    if (c && apart?.has(c.buffer)) {
      // The slab being carved holds an input: hand its rest to the free list and start another.
      for (; c.next + size <= c.buffer.size; c.next += size) pushTo(this.freeChunks, size, { buffer: c.buffer, offset: c.next, size, slab: c.slab });
    }
    if (!c || c.next + size > c.buffer.size) {
      const slabBytes = Math.max(size, Math.floor(SLAB_BYTES / size) * size);
      c = { buffer: this.device.createBuffer({ size: slabBytes, usage: STORAGE_USAGE }), slab: this.nextSlab++, next: 0 };
      this.carving.set(size, c);
    }
    const chunk = { buffer: c.buffer, offset: c.next, size, slab: c.slab };
    c.next += size;
    return chunk;
  }

  /** Returns a chunk for reuse (an own buffer beyond the pool's budget is destroyed once queued work is submitted). */
  release(chunk: GpuChunk): void {
    if (this.pins.has(chunk)) {
      // Still counted as live: a recording owns it until disposed.
      this.held.add(chunk);
      return;
    }
    this.liveBuffers--;
    this.liveBytes -= chunk.size;
    if (chunk.size <= SLAB_CHUNK_MAX) pushTo(this.freeChunks, chunk.size, chunk);
    // During a capture no buffer is destroyed: the recording may bind it (endCapture pins what it touched).
    else if (this.pooledBytes + chunk.size <= POOL_BYTES || this.recorder) {
      this.pooledBytes += chunk.size;
      pushTo(this.pool, chunk.size, chunk);
    } else {
      this.toDestroy.push(chunk);
      this.scheduleFlush();
    }
  }

  private ownChunk(size: number): GpuChunk {
    return { buffer: this.device.createBuffer({ size, usage: STORAGE_USAGE }), offset: 0, size, slab: this.nextSlab++ };
  }

  /** Size classes (4 per octave) rounded to the offset alignment, so every chunk of a slab starts aligned. */
  private classOf(bytes: number): number {
    return Math.ceil(sizeClass(bytes) / this.chunkAlign) * this.chunkAlign;
  }

  /** Writes host words into a new chunk, in order with the queued dispatches. */
  upload(words: Uint32Array): GpuChunk {
    const bytes = words.length * 4;
    const buffer = this.alloc(bytes);
    if (bytes > SMALL_UPLOAD) {
      // Through a staging buffer mapped at creation and a copy in the batch, so the destination can be a pooled
      // buffer (whose bind groups are cached) and the write stays in order with the queued dispatches.
      const staging = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: 0x04 /* COPY_SRC */ | 0x02 /* MAP_WRITE */, mappedAtCreation: true });
      new Uint32Array(staging.getMappedRange(), 0, words.length).set(words);
      staging.unmap();
      this.enc().copyBufferToBuffer(staging, 0, buffer.buffer, buffer.offset, bytes);
      this.staging.push(staging);
      this.recorder?.upload(words, buffer);
      this.didEncode();
      return buffer;
    }
    if (words.length === 0) return buffer;
    if (words.length <= UPLOAD_BY_KERNEL) {
      const p = new Params().u(words.length);
      for (let i = 0; i < words.length; i++) p.words.push(words[i]!);
      this.dispatch(SET_WORDS, p, [buffer], Runtime.groupsFor(words.length));
      return buffer;
    }
    this.recorder?.upload(words, buffer);
    const at = this.reserveArena(words.length);
    this.arenaHost.set(words, at);
    this.enc().copyBufferToBuffer(this.arena, at * 4, buffer.buffer, buffer.offset, bytes);
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
      // Data bindings are declared read_write whatever the kernel says: an input and an output of one dispatch may be
      // chunks of one slab, and WebGPU forbids a buffer's read-only and writable use in one dispatch, not two writable
      // ones. Binding 0, the parameter arena, stays read-only.
      const code = kernel.readOnlyInputs
        ? kernel.code
        : kernel.code.replace(/(@binding\((\d+)\)\s*var<storage,\s*)read>/g, (m, head: string, b: string) => (b === '0' ? m : `${head}read_write>`));
      const found = [...code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*(read_write|read)>/g)];
      // Every storage binding takes a dynamic offset when the device allows that many (WebGPU's minimum is 4).
      const dynamic = found.length <= this.maxDynamic;
      const entries: GPUBindGroupLayoutEntry[] = found.map((m) => {
        const binding = Number(m[1]);
        return { binding, visibility: 4 /* COMPUTE */, buffer: { type: m[2] === 'read' ? 'read-only-storage' : 'storage', hasDynamicOffset: dynamic || binding === 0 } };
      });
      const layout = this.device.createBindGroupLayout({ label: kernel.name, entries });
      const module = this.device.createShaderModule({ label: kernel.name, code });
      const pipeline = this.device.createComputePipeline({
        label: kernel.name,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
      const readOnly: boolean[] = [];
      for (const m of found) if (m[1] !== '0') readOnly[Number(m[1]) - 1] = m[2] === 'read';
      c = { pipeline, layout, dynamic, readOnly };
      this.pipelines.set(kernel.name, c);
    }
    return c;
  }

  /** With dynamic offsets a group is keyed by slabs alone; otherwise by the chunks themselves. */
  private bindGroup(kernel: KernelSource, c: Compiled, chunks: readonly GpuChunk[]): GPUBindGroup {
    let key = kernel.name;
    for (const b of chunks) key += c.dynamic ? `:${b.slab}` : `:${b.slab}@${b.offset}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) {
        this.bindGroups.clear();
        this.groupsOf.clear();
      }
      group = this.makeBindGroup(c, this.arena, chunks);
      this.bindGroups.set(key, group);
      for (const b of chunks) pushTo(this.groupsOf, b.slab, key);
    }
    return group;
  }

  /**
   * Enqueues one dispatch: binding 0 is the parameter block, bindings 1… are `chunks` in order (null for an input
   * the kernel will not read this time: it gets a placeholder of its own, never aliasing another binding). `groups` is the
   * number of workgroups wanted in total (spread over x and y, since each dimension is capped at 65535) or an
   * explicit [x, y, z] grid.
   */
  dispatch(kernel: KernelSource, params: Params, chunks: readonly (GpuChunk | null)[], groups: number | [number, number, number]): void {
    const [x, y, z] = typeof groups === 'number' ? spread(groups) : groups;
    if (x === 0 || y === 0 || z === 0) return;
    if (params.length > PARAM_WORDS) throw new DeviceError(`${kernel.name}: too many dims for the webgpu backend (${params.length} parameter words)`);
    const c = this.pipeline(kernel);
    let buffers = chunks.map((b, k) => b ?? this.unused(k));
    const dup = this.separateAliases(buffers, c.readOnly);
    if (dup) buffers = dup.chunks;
    const at = this.reserveArena(params.length);
    for (let k = 0; k < params.length; k++) this.arenaHost[at + k] = params.words[k]!;
    const group = this.bindGroup(kernel, c, buffers);
    const pass = this.passFor(c.pipeline);
    const offsets = [at * 4];
    if (c.dynamic) for (const b of buffers) offsets.push(b.offset);
    pass.setBindGroup(0, group, offsets);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    this.recorder?.dispatch(c, params.words, buffers, [x, y, z]);
    // The copies are read by this dispatch before any later one can reuse their chunks (the queue is ordered).
    if (dup) for (const t of dup.temps) pushTo(this.spare, t.size, t);
    this.didEncode();
  }

  /**
   * Bindings WebGPU forbids in one dispatch: the same chunk bound twice (x·x, or a placeholder for an absent input)
   * as writable, or a read-only binding sharing a buffer with a writable one. Such inputs get a copy in a buffer of
   * their own. Null when nothing needs one.
   */
  private separateAliases(buffers: readonly GpuChunk[], readOnly: readonly boolean[]): { chunks: GpuChunk[]; temps: GpuChunk[] } | null {
    let out: { chunks: GpuChunk[]; temps: GpuChunk[] } | null = null;
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i]!;
      let clash = false;
      for (let j = 0; j < buffers.length && !clash; j++) {
        if (j === i) continue;
        const o = buffers[j]!;
        // An earlier binding of the same range, or (for a read-only input) any writable binding of the same buffer.
        clash = o.buffer === b.buffer && ((j < i && o.offset === b.offset && !(readOnly[i] && readOnly[j])) || (!!readOnly[i] && !readOnly[j]));
      }
      if (!clash) continue;
      out ??= { chunks: [...buffers], temps: [] };
      // A buffer of its own: a copy within one buffer is not allowed.
      const t = this.spare.get(b.size)?.pop() ?? this.ownChunk(b.size);
      this.enc().copyBufferToBuffer(b.buffer, b.offset, t.buffer, t.offset, b.size);
      this.recorder?.copy(b, t, b.size);
      out.chunks[i] = t;
      out.temps.push(t);
    }
    return out;
  }

  /** The open compute pass, with `pipeline` set. */
  private passFor(pipeline: GPUComputePipeline): GPUComputePassEncoder {
    if (!this.pass) {
      this.pass = this.enc().beginComputePass();
      this.passPipeline = null;
    }
    if (this.passPipeline !== pipeline) {
      this.pass.setPipeline(pipeline);
      this.passPipeline = pipeline;
    }
    return this.pass;
  }

  // ---- capture ------------------------------------------------------------------------------------------------
  get capturing(): boolean {
    return this.recorder !== null;
  }

  beginCapture(): void {
    if (this.recorder) throw new DeviceError('webgpu: a capture is already being recorded');
    this.recorder = new Recorder();
  }

  /** Stops recording; the chunks the recording touched are pinned by the returned Replay (see capture.ts). */
  endCapture(): Replay {
    const rec = this.recorder;
    if (!rec) throw new DeviceError('webgpu: endCapture without beginCapture');
    this.recorder = null;
    const replay = rec.finish(this);
    // Chunks freed during the capture sit in the free lists: a pinned one must not be handed out again.
    for (const lists of [this.freeChunks, this.pool])
      for (const [size, list] of lists) {
        const kept = list.filter((c) => !this.pins.has(c));
        if (kept.length === list.length) continue;
        for (const c of list) {
          if (!this.pins.has(c)) continue;
          this.held.add(c);
          this.liveBuffers++;
          this.liveBytes += c.size;
          if (lists === this.pool) this.pooledBytes -= c.size;
        }
        lists.set(size, kept);
      }
    return replay;
  }

  abortCapture(): void {
    this.recorder = null;
  }

  /** @internal Word alignment of parameter blocks, and the window each dispatch may read (binding 0). */
  get paramAlignWords(): number {
    return this.align;
  }
  get paramWindowWords(): number {
    return PARAM_WORDS;
  }

  /** @internal Pins chunks for a recording (see release). */
  pin(chunks: readonly GpuChunk[]): void {
    for (const c of chunks) this.pins.set(c, (this.pins.get(c) ?? 0) + 1);
  }

  /** @internal Unpins; a chunk released while pinned goes back to the pool now. */
  unpin(chunks: readonly GpuChunk[]): void {
    for (const c of chunks) {
      const n = this.pins.get(c)! - 1;
      if (n > 0) {
        this.pins.set(c, n);
        continue;
      }
      this.pins.delete(c);
      if (this.held.delete(c)) this.release(c);
    }
  }

  /** @internal A buffer to destroy once the work queued so far is submitted. */
  destroyAfterSubmit(buffer: GPUBuffer): void {
    this.staging.push(buffer);
    this.scheduleFlush();
  }

  /** @internal Re-encodes a recording's commands, in order with everything else queued. */
  encodeReplay(commands: readonly ReplayCommand[]): void {
    if (this.recorder) throw new DeviceError('webgpu: a captured step cannot be replayed inside another capture');
    for (const cmd of commands) {
      if ('pipeline' in cmd) {
        const pass = this.passFor(cmd.pipeline);
        pass.setBindGroup(0, cmd.group, cmd.offsets, 0, cmd.offsets.length);
        pass.dispatchWorkgroups(cmd.x, cmd.y, cmd.z);
        this.dispatches++;
      } else this.enc().copyBufferToBuffer(cmd.src, cmd.srcOffset, cmd.dst, cmd.dstOffset, cmd.bytes);
      this.didEncode();
    }
  }

  /** @internal A bind group of `c` with `params` at binding 0 and `chunks` after it. */
  makeBindGroup(c: Compiled, params: GPUBuffer, chunks: readonly GpuChunk[]): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: params, offset: 0, size: PARAM_WORDS * 4 } },
      ...chunks.map((b, k) => ({ binding: k + 1, resource: { buffer: b.buffer, offset: c.dynamic ? 0 : b.offset, size: b.size } })),
    ];
    return this.device.createBindGroup({ layout: c.layout, entries });
  }

  /** The placeholder bound at data binding k + 1 for an input a dispatch does not read (one per binding index). */
  private unused(k: number): GpuChunk {
    return (this.placeholders[k] ??= this.ownChunk(this.chunkAlign));
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
      this.submits++;
      this.encoder = null;
      this.pending = 0;
      this.arenaWords = 0;
    }
    // Destroying after submit is safe: the GPU finishes the submitted work that uses them first.
    if (this.toDestroy.length) {
      for (const b of this.toDestroy) {
        // Their bind groups go too (a group keeps its buffers alive).
        for (const key of this.groupsOf.get(b.slab) ?? []) this.bindGroups.delete(key);
        this.groupsOf.delete(b.slab);
        b.buffer.destroy();
      }
      this.toDestroy = [];
    }
    if (this.staging.length) {
      for (const b of this.staging) b.destroy();
      this.staging = [];
    }
  }

  // ---- readback -----------------------------------------------------------------------------------------------
  /** Copies `words` words at word offset `from` of `src` to the host, with the kernel error word. */
  async readWords(src: GpuChunk, from: number, words: number): Promise<Uint32Array> {
    if (this.recorder) throw new DeviceError('webgpu: cannot read a buffer while a step is being captured (a replay would not read again)');
    const bytes = words * 4 + 16;
    // Small reads (a loss, one element to wait on) reuse mappable buffers: creating one costs more than the copy.
    const size = bytes <= STAGING_REUSE_MAX ? Math.max(256, 2 ** Math.ceil(Math.log2(bytes))) : bytes;
    const staging = this.readStaging.get(size)?.pop() ?? this.device.createBuffer({ size, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */ });
    const enc = this.enc();
    if (words > 0) enc.copyBufferToBuffer(src.buffer, src.offset + from * 4, staging, 0, words * 4);
    enc.copyBufferToBuffer(this.errorWord.buffer, 0, staging, words * 4, 16);
    enc.clearBuffer(this.errorWord.buffer);
    this.pending++;
    this.flush();
    try {
      await staging.mapAsync(0x01 /* GPUMapMode.READ */);
    } catch (e) {
      staging.destroy();
      throw new DeviceError(`webgpu: reading a buffer failed: ${this.deviceError ?? String(e)}`);
    }
    const all = new Uint32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    if (size <= STAGING_REUSE_MAX && (this.readStaging.get(size)?.length ?? 0) < 4) pushTo(this.readStaging, size, staging);
    else staging.destroy();
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
