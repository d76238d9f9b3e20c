/**
 * Initializes the 'webgpu' backend for test runs. Without a GPU the tests use lavapipe, which
 * scripts/setup-webgpu.sh installs into the git-ignored .vk/ folder; VK_DRIVER_FILES is pointed at it here unless
 * the environment already names a driver. A missing adapter fails loudly (initWebGPU throws): CI never skips WebGPU.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initWebGPU, getWebGPUBackend, type WebGPUBackend } from '@tessera/backend-webgpu';

// Without .vk/ (a machine with a real GPU) the system's Vulkan drivers are used; if none gives an adapter,
// initWebGPU throws a DeviceError that says to run the setup script.
const icd = fileURLToPath(new URL('../../.vk/lvp_icd.json', import.meta.url));
if (!process.env.VK_DRIVER_FILES && existsSync(icd)) process.env.VK_DRIVER_FILES = icd;
process.env.XDG_RUNTIME_DIR ??= '/tmp';

/** The registered 'webgpu' backend (created once per test process). */
export async function webgpuBackend(): Promise<WebGPUBackend> {
  return getWebGPUBackend() ?? (await initWebGPU());
}
