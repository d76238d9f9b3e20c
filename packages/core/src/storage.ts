/**
 * Storage: one backend buffer shared by a tensor and all its views. Freed deterministically when the last handle
 * (tensor, view, or tensor saved by autograd) releases it, with a FinalizationRegistry as the safety net for handles
 * that are simply dropped.
 */
import type { Backend, BackendBuffer } from './backend/interface.js';
import { checkCaptureBackend } from './capture-mode.js';
import { DisposedError } from './errors.js';

interface Held {
  backend: Backend;
  buffer: BackendBuffer;
  freed: { value: boolean };
}

const registry = new FinalizationRegistry<Held>((held) => {
  if (!held.freed.value) {
    held.freed.value = true;
    held.backend.free(held.buffer);
  }
});

export class Storage {
  /** Counts in-place writes, so autograd can detect that a saved tensor was modified. */
  version = 0;
  private refs = 0;
  private readonly freed = { value: false };

  constructor(
    readonly backend: Backend,
    readonly buffer: BackendBuffer,
  ) {
    checkCaptureBackend('storage', backend);
    registry.register(this, { backend, buffer, freed: this.freed }, this);
  }

  /** Live handles (tensors, views, autograd saves) on this storage. */
  get handles(): number {
    return this.refs;
  }
  get isFreed(): boolean {
    return this.freed.value;
  }
  retain(): void {
    this.refs++;
  }
  /** Drops one handle; frees the buffer when none are left. */
  release(): void {
    if (--this.refs <= 0 && !this.freed.value) {
      this.freed.value = true;
      registry.unregister(this);
      this.backend.free(this.buffer);
    }
  }
  checkAlive(what: string): void {
    if (this.freed.value) throw new DisposedError(`${what}: the tensor's storage was already freed (disposed)`);
  }
}
