/**
 * Backend selection for the examples: 'cpu' (WebAssembly SIMD, the default), 'webgpu' (needs an adapter; async
 * init; without a GPU, the lavapipe driver that scripts/setup-webgpu.sh puts in .vk/) or 'reference' (plain
 * TypeScript, slow). When the cpu backend cannot be loaded, the default falls back to
 * 'reference' with a notice; an explicitly requested backend that fails is an error with the reason.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getBackend, listBackends, setBackend, tensor } from '@tessera/core';

export const BACKEND_NAMES = ['cpu', 'webgpu', 'reference'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Raised when a backend cannot be used; the CLI prints it as a one-line error, not a stack trace. */
export class BackendUnavailableError extends Error {}

const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0];

async function loadCpu(): Promise<void> {
  if (!listBackends().includes('cpu')) await import('@tessera/backend-cpu');
  setBackend('cpu');
  // A tiny op proves the kernels compile and run on this machine.
  tensor([1, 2, 3]).mul(2).sum().itemSync();
}

/** lavapipe (software Vulkan) from scripts/setup-webgpu.sh, used when no Vulkan driver is named. */
const LAVAPIPE_ICD = fileURLToPath(new URL('../../.vk/lvp_icd.json', import.meta.url));

async function loadWebGPU(): Promise<void> {
  if (!process.env.VK_DRIVER_FILES && existsSync(LAVAPIPE_ICD)) process.env.VK_DRIVER_FILES = LAVAPIPE_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  if (!listBackends().includes('webgpu')) {
    const { initWebGPU } = await import('@tessera/backend-webgpu');
    await initWebGPU();
  }
  setBackend('webgpu');
  await tensor([1, 2, 3]).mul(2).sum().item();
}

/**
 * Makes `requested` the current backend (default: cpu, falling back to reference). Returns the backend in use and
 * a notice to print when it is not the one asked for.
 */
export async function chooseBackend(requested: BackendName | undefined): Promise<{ name: string; notice: string | null }> {
  const name = requested ?? 'cpu';
  try {
    if (name === 'cpu') await loadCpu();
    else if (name === 'webgpu') await loadWebGPU();
    else setBackend('reference');
    return { name: getBackend().name, notice: null };
  } catch (e) {
    if (requested !== undefined) throw new BackendUnavailableError(`backend '${name}' is not available: ${firstLine(e)}`);
    setBackend('reference');
    return {
      name: 'reference',
      notice: `notice: the fast 'cpu' backend could not be loaded (${firstLine(e)}); using the slow 'reference' backend.`,
    };
  }
}
