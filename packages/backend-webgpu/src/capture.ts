/**
 * Step capture on the GPU: while a Recorder is attached, the runtime reports every dispatch, buffer copy and upload
 * it encodes. endCapture() turns them into a Replay: the parameter words and uploaded data move into one buffer of
 * the recording's own, bind groups are made once, and a replay only re-encodes (pipeline, bind group, offsets, grid)
 * per dispatch — no shape rules, autograd or parameter packing in JavaScript.
 *
 * Memory safety: every chunk the recorded work touched is pinned while the recording lives, so a chunk freed by its
 * tensor (or freed during the capture) is held back instead of being handed to another tensor that a replay would
 * then overwrite.
 */
/// <reference types="@webgpu/types" />
import type { CapturedWork } from '@tessera/core';
import type { Compiled, GpuChunk, Runtime } from './runtime.js';

type Recorded =
  | { kind: 'dispatch'; c: Compiled; params: Uint32Array; chunks: GpuChunk[]; grid: [number, number, number] }
  | { kind: 'copy'; src: GpuChunk; dst: GpuChunk; bytes: number }
  | { kind: 'upload'; words: Uint32Array; dst: GpuChunk };

/** One encoded command of a replay. */
export type ReplayCommand =
  | { pipeline: GPUComputePipeline; group: GPUBindGroup; offsets: Uint32Array; x: number; y: number; z: number }
  | { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number };

export class Recorder {
  private readonly commands: Recorded[] = [];
  /** Chunks allocated during the capture (some are freed and reused within it). */
  readonly touched = new Set<GpuChunk>();

  dispatch(c: Compiled, words: readonly number[], chunks: readonly GpuChunk[], grid: [number, number, number]): void {
    this.commands.push({ kind: 'dispatch', c, params: Uint32Array.from(words), chunks: [...chunks], grid });
  }
  copy(src: GpuChunk, dst: GpuChunk, bytes: number): void {
    this.commands.push({ kind: 'copy', src, dst, bytes });
  }
  upload(words: Uint32Array, dst: GpuChunk): void {
    this.commands.push({ kind: 'upload', words: words.slice(), dst });
  }

  /** Lays the parameter words and uploads out in one constant buffer and builds the replay's commands. */
  finish(rt: Runtime): Replay {
    const align = rt.paramAlignWords;
    let words = 0;
    const place = (n: number, window: number) => {
      const at = Math.ceil(words / align) * align;
      words = at + Math.max(n, window);
      return at;
    };
    const at = this.commands.map((r) => (r.kind === 'dispatch' ? place(r.params.length, rt.paramWindowWords) : r.kind === 'upload' ? place(r.words.length, 1) : 0));
    const host = new Uint32Array(Math.max(words, 4));
    this.commands.forEach((r, i) => {
      if (r.kind === 'dispatch') host.set(r.params, at[i]);
      else if (r.kind === 'upload') host.set(r.words, at[i]);
    });
    const constants = rt.device.createBuffer({ size: host.byteLength, usage: 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */ });
    rt.device.queue.writeBuffer(constants, 0, host);
    const groups = new Map<Compiled, Map<string, GPUBindGroup>>();
    const pinned = new Set<GpuChunk>(this.touched);
    const commands: ReplayCommand[] = this.commands.map((r, i) => {
      if (r.kind === 'copy') {
        pinned.add(r.src).add(r.dst);
        return { src: r.src.buffer, srcOffset: r.src.offset, dst: r.dst.buffer, dstOffset: r.dst.offset, bytes: r.bytes };
      }
      if (r.kind === 'upload') {
        pinned.add(r.dst);
        return { src: constants, srcOffset: at[i]! * 4, dst: r.dst.buffer, dstOffset: r.dst.offset, bytes: r.words.length * 4 };
      }
      for (const b of r.chunks) pinned.add(b);
      let key = '';
      for (const b of r.chunks) key += r.c.dynamic ? `:${b.slab}` : `:${b.slab}@${b.offset}`;
      let byKey = groups.get(r.c);
      if (!byKey) groups.set(r.c, (byKey = new Map()));
      let group = byKey.get(key);
      if (!group) byKey.set(key, (group = rt.makeBindGroup(r.c, constants, r.chunks)));
      const offsets = new Uint32Array(1 + (r.c.dynamic ? r.chunks.length : 0));
      offsets[0] = at[i]! * 4;
      if (r.c.dynamic) r.chunks.forEach((b, k) => (offsets[k + 1] = b.offset));
      const [x, y, z] = r.grid;
      return { pipeline: r.c.pipeline, group, offsets, x, y, z };
    });
    return new Replay(rt, commands, constants, [...pinned]);
  }
}

export class Replay implements CapturedWork {
  private disposed = false;

  constructor(
    private readonly rt: Runtime,
    readonly commands: readonly ReplayCommand[],
    private readonly constants: GPUBuffer,
    private readonly pinned: readonly GpuChunk[],
  ) {
    rt.pin(pinned);
  }

  replay(): void {
    if (this.disposed) throw new Error('webgpu: replay of a disposed capture');
    this.rt.encodeReplay(this.commands);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.unpin(this.pinned);
    this.rt.destroyAfterSubmit(this.constants);
  }
}
