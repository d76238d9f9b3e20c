/**
 * A pool of worker threads sharing the heap's memory. `run` cuts a kernel's work range [0, total) into tasks that
 * the participants claim from a shared counter (a few per thread, so a thread the OS delays does fewer); the calling
 * thread works too and then blocks in Atomics.wait until the workers are done, so every backend call stays
 * synchronous. Which thread computes a task never changes its result. Workers start lazily, on the first job that
 * needs them, and are unref'd so they never keep the process alive.
 */
import { ArgumentError } from '@tessera/core';
import { availableParallelism, cpus } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Heap } from '../heap.js';
import type { WasmModule } from '../wasm/api.js';
import { CTRL, MAX_THREADS, WORKER_SOURCE } from './worker-source.js';

export interface Kernel {
  readonly id: number;
  readonly module: WasmModule;
  /** run(desc, lo, hi, scratch): processes work items [lo, hi) of the job described at `desc`. */
  readonly run: (desc: number, lo: number, hi: number, scratch: number) => void;
}

interface WorkerHandle {
  worker: Worker;
  port: MessagePort;
  known: Set<number>;
}

function defaultThreads(): number {
  const env = Number(process.env.TESSERA_NUM_THREADS);
  if (Number.isInteger(env) && env > 0) return Math.min(env, MAX_THREADS);
  const n = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  return Math.max(1, Math.min(n, MAX_THREADS));
}

export class ThreadPool {
  private readonly ctrl: Int32Array;
  private readonly workers: WorkerHandle[] = [];
  private threads = defaultThreads();
  private readonly scratchPtrs: (number | undefined)[] = [];
  private scratchBytes = 0;

  constructor(private readonly heap: Heap) {
    this.ctrl = new Int32Array(heap.memory.buffer, 0, 256);
  }

  get numThreads(): number {
    return this.threads;
  }
  set numThreads(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`setNumThreads: expected a positive integer, got ${n}`);
    this.threads = Math.min(n, MAX_THREADS);
  }

  /** Ensures each of the numThreads participants has a private scratch block of at least `bytes`. */
  reserveScratch(bytes: number): void {
    if (bytes <= this.scratchBytes && this.scratchPtrs[this.threads - 1] !== undefined) return;
    const size = Math.max(bytes, this.scratchBytes);
    if (size === 0) return;
    const grow = size > this.scratchBytes;
    for (let p = 0; p < MAX_THREADS; p++) {
      const old = this.scratchPtrs[p];
      if (p >= this.threads) {
        // Blocks of participants beyond the thread count are dropped when they would be too small.
        if (old !== undefined && grow) {
          this.heap.release(old, this.scratchBytes);
          this.scratchPtrs[p] = undefined;
        }
        continue;
      }
      if (old !== undefined && !grow) continue;
      if (old !== undefined) this.heap.release(old, this.scratchBytes);
      this.scratchPtrs[p] = this.heap.alloc(size);
      this.ctrl[CTRL.SCRATCH + p] = this.scratchPtrs[p]!;
    }
    this.scratchBytes = size;
  }

  scratch(p: number): number {
    return this.scratchPtrs[p] ?? 0;
  }

  /**
   * Runs a kernel over [0, total) on up to `parts` threads (clamped to numThreads and to total), in tasks of
   * `grain` items (default: about four tasks per thread). The descriptor at `desc` must stay unchanged until this
   * returns.
   */
  run(kernel: Kernel, desc: number, total: number, parts: number, grain?: number): void {
    const p = Math.max(1, Math.min(parts, this.threads, total));
    if (p === 1) {
      if (total > 0) kernel.run(desc, 0, total, this.scratch(0));
      return;
    }
    this.startWorkers(p - 1);
    for (let w = 0; w < p - 1; w++) {
      const h = this.workers[w]!;
      if (!h.known.has(kernel.id)) {
        h.port.postMessage({ id: kernel.id, module: kernel.module });
        h.known.add(kernel.id);
      }
    }
    const c = this.ctrl;
    c[CTRL.KERNEL] = kernel.id;
    c[CTRL.DESC] = desc;
    c[CTRL.TOTAL] = total;
    const g = Math.max(1, grain ?? Math.ceil(total / (4 * p)));
    c[CTRL.GRAIN] = g;
    Atomics.store(c, CTRL.NEXT, 0);
    Atomics.store(c, CTRL.PARTS, p);
    Atomics.store(c, CTRL.ERROR, 0);
    Atomics.store(c, CTRL.DONE, 0);
    Atomics.add(c, CTRL.SEQ, 1);
    Atomics.notify(c, CTRL.SEQ);
    let failure: unknown;
    try {
      const scratch = this.scratch(0);
      for (;;) {
        const lo = Atomics.add(c, CTRL.NEXT, 1) * g;
        if (lo >= total) break;
        kernel.run(desc, lo, Math.min(total, lo + g), scratch);
      }
    } catch (e) {
      failure = e;
    }
    // Wait for the workers even if our own slice failed: they are still writing into shared memory.
    for (let spins = 0; ; spins++) {
      const done = Atomics.load(c, CTRL.DONE);
      if (done >= p - 1) break;
      if (Atomics.load(c, CTRL.DEAD)) throw new Error('cpu backend: a worker thread died (see stderr); call setNumThreads(1) to run without workers');
      if (spins > 1000) Atomics.wait(c, CTRL.DONE, done, 100);
    }
    if (failure) throw failure;
    if (Atomics.load(c, CTRL.ERROR)) throw new Error('cpu backend: a kernel failed on a worker thread (see stderr)');
  }

  private startWorkers(n: number): void {
    while (this.workers.length < n) {
      const index = this.workers.length + 1;
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { memory: this.heap.memory, port: port2, index, seq: Atomics.load(this.ctrl, CTRL.SEQ) },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      this.workers.push({ worker, port: port1, known: new Set() });
    }
  }

  /** Stops all workers (they restart on demand). */
  async terminate(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }
}
