/**
 * WebGPU in Node for the benchmarks: points the Vulkan loader at the project's lavapipe (software Vulkan, from
 * scripts/setup-webgpu.sh) unless VK_DRIVER_FILES is already set, and exposes Dawn (the `webgpu` package) as
 * `navigator.gpu` for libraries that look for it there.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ICD = fileURLToPath(new URL('../../.vk/lvp_icd.json', import.meta.url));

/** Sets VK_DRIVER_FILES to .vk/lvp_icd.json when it exists and nothing else was chosen; returns the driver used. */
export function useLavapipe(): string {
  if (!process.env.VK_DRIVER_FILES && existsSync(ICD)) process.env.VK_DRIVER_FILES = ICD;
  return process.env.VK_DRIVER_FILES ?? 'the system Vulkan driver';
}

/** Dawn's GPU object, kept for the process's lifetime (collecting it while a device lives crashes). */
let gpu: Gpu | undefined;
type Gpu = ReturnType<typeof import('webgpu').create>;

export async function useDawn(): Promise<Gpu> {
  if (gpu) return gpu;
  useLavapipe();
  const dawn = await import('webgpu');
  Object.assign(globalThis, dawn.globals);
  gpu = dawn.create([]);
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: Gpu };
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  return gpu;
}
