/**
 * Whether a step is being captured (see capture.ts), and the checks that keep a captured step honest: a replay
 * repeats the recorded kernels only, so work the replay cannot repeat (another backend's kernels, random draws, host
 * reads) is an error during a capture instead of a silently stale value afterwards.
 */
import type { Backend } from './backend/interface.js';
import { ArgumentError, DeviceError } from './errors.js';

let active: Backend | null = null;

/** @internal The backend being captured, or null. */
export const capturingBackend = (): Backend | null => active;

/** @internal Enters or leaves capture mode (capture() only). */
export function setCapturing(backend: Backend | null): void {
  active = backend;
}

/** @internal Throws when a capture is running on another backend than the one `op` computes on. */
export function checkCaptureBackend(op: string, backend: Backend): void {
  if (active && backend !== active)
    throw new DeviceError(`${op}: a step captured on '${active.name}' cannot compute on '${backend.name}' (a replay repeats '${active.name}' kernels only); move the tensor with .to('${active.name}') before the capture`);
}

/** @internal Throws when something a replay could not repeat happens during a capture. */
export function checkNotCapturing(op: string, why: string): void {
  if (active) throw new ArgumentError(`${op}: not allowed inside capture(): ${why}`);
}
