/**
 * The backends every cross-package suite runs against. Each later backend adds itself here (importing its package
 * registers it); the suites use `describe.each(BACKENDS)` so a backend that fails an op fails CI.
 * TESSERA_BACKENDS=reference,cpu narrows the list for local runs.
 */
import '@tessera/backend-cpu';
import { backendByName, type Backend } from '@tessera/core';

export const ALL_BACKENDS = ['reference', 'cpu', 'webgpu'] as const;

const only = process.env.TESSERA_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
export const BACKENDS: string[] = only?.length ? only : [...ALL_BACKENDS];

// WebGPU devices are created asynchronously: register 'webgpu' before any suite reads BACKENDS. No adapter is an
// error here, never a skip (run scripts/setup-webgpu.sh on machines without a GPU).
if (BACKENDS.includes('webgpu')) await (await import('./webgpu.js')).webgpuBackend();

/** Whether a backend can hold float64 (gradchecks need it; others compare against the reference's float64). */
export function hasFloat64(name: string): boolean {
  const b: Backend = backendByName(name);
  return b.capabilities.dtypes.includes('float64');
}
