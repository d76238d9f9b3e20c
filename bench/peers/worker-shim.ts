/**
 * A minimal browser-style global `Worker` for Node 20 on top of worker_threads, enough for libraries that start
 * their thread pool from a Blob URL holding a classic script that uses `self.onmessage` and `postMessage`
 * (jax-js's wasm backend does). Node 20 has no global Worker, so without this such libraries run single-threaded.
 */
import { resolveObjectURL } from 'node:buffer';
import { Worker as NodeWorker } from 'node:worker_threads';

/** Runs inside the thread: gives the script `self` and `postMessage`, then evaluates it. */
const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
globalThis.self = globalThis;
globalThis.postMessage = (data) => parentPort.postMessage(data);
parentPort.on('message', (data) => { if (typeof self.onmessage === 'function') self.onmessage({ data }); });
(0, eval)(workerData.source);
`;

class BlobWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  private thread: NodeWorker | null = null;
  /** Messages posted while the Blob's text is still being read. */
  private readonly queued: unknown[] = [];

  constructor(url: string | URL) {
    // Blob URLs are per-thread in Node, so the script is read here (asynchronously) and handed to the thread.
    const blob = resolveObjectURL(String(url));
    if (!blob) throw new Error(`Worker shim: ${String(url)} is not a Blob URL of this thread`);
    void blob.text().then((source) => {
      const thread = new NodeWorker(BOOTSTRAP, { eval: true, workerData: { source } });
      thread.on('message', (data) => this.onmessage?.({ data }));
      thread.on('error', (e) => this.onerror?.({ message: e.message }));
      this.thread = thread;
      for (const data of this.queued.splice(0)) thread.postMessage(data);
    });
  }
  postMessage(data: unknown): void {
    if (this.thread) this.thread.postMessage(data);
    else this.queued.push(data);
  }
  terminate(): void {
    void this.thread?.terminate();
  }
}

/** Installs the shim (when there is no global Worker) and reports `threads` as the hardware concurrency. */
export function installWorkerShim(threads: number): void {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Worker === 'undefined') g.Worker = BlobWorker;
  Object.defineProperty(globalThis, 'navigator', { value: { hardwareConcurrency: threads }, configurable: true, writable: true });
}
