/** Backend registry and selection: `registerBackend`, `setBackend`, `getBackend`. */
import { DeviceError } from '../errors.js';
import type { Backend } from './interface.js';

const backends = new Map<string, { backend: Backend; priority: number }>();
let current: Backend | undefined;
let explicitlyChosen = false;

/**
 * Makes a backend available by name. The registered backend with the highest priority becomes the default unless
 * the user picked one with setBackend (the reference backend registers with priority 0).
 */
export function registerBackend(backend: Backend, priority = 1): void {
  backends.set(backend.name, { backend, priority });
  if (!explicitlyChosen && (!current || priority > (backends.get(current.name)?.priority ?? -1))) current = backend;
}

/** Selects the default backend for new tensors. */
export function setBackend(name: string): void {
  current = backendByName(name);
  explicitlyChosen = true;
}

export function getBackend(): Backend {
  if (!current) throw new DeviceError('no backend is registered');
  return current;
}

export function backendByName(name: string): Backend {
  const entry = backends.get(name);
  if (!entry) throw new DeviceError(`unknown backend '${name}' (registered: ${[...backends.keys()].join(', ') || 'none'})`);
  return entry.backend;
}

export function listBackends(): string[] {
  return [...backends.keys()];
}

/** Live buffers and bytes per registered backend. */
export function memoryStats(): Record<string, { buffers: number; bytes: number }> {
  const out: Record<string, { buffers: number; bytes: number }> = {};
  for (const [name, { backend }] of backends) out[name] = backend.memory();
  return out;
}
