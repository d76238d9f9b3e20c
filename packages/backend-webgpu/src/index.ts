/**
 * @tessera/backend-webgpu — Tessera's primitives as WGSL compute kernels, in Node (Dawn, through the `webgpu`
 * package) and in browsers (`navigator.gpu`).
 *
 * WebGPU hands out adapters and devices asynchronously, so importing this package registers nothing by itself:
 *
 * ```ts
 * import { initWebGPU } from '@tessera/backend-webgpu';
 * await initWebGPU();          // registers backend 'webgpu'
 * setBackend('webgpu');        // or pass { device: 'webgpu' } to creation functions
 * ```
 *
 * The backend registers with priority -1, below both 'cpu' and 'reference', so it only becomes the default when
 * chosen (setBackend, or `initWebGPU({ makeDefault: true })`). A missing adapter is an error, never a silent
 * fallback.
 */
/// <reference types="@webgpu/types" />
import { DeviceError, registerBackend, setBackend } from '@tessera/core';
import { WebGPUBackend, type MatmulKernel } from './backend.js';

export { WebGPUBackend, WebGPUBuffer, isSoftwareDevice, type WebGPUBackendOptions, type MatmulKernel } from './backend.js';

export interface InitWebGPUOptions {
  /** Registered name (default 'webgpu'). */
  name?: string;
  /** Registry priority (default -1: never the automatic default). */
  priority?: number;
  /** Also make it the current backend. */
  makeDefault?: boolean;
  /**
   * Request the adapter's 'shader-f16' feature, so float16 tensors are stored as halves (default true). Without it
   * (or on an adapter that lacks it) float16 throws a DTypeError on this backend.
   */
  float16?: boolean;
  /** Use this device as it is (its limits and features are the caller's choice). */
  device?: GPUDevice;
  /** Request the device from this adapter. */
  adapter?: GPUAdapter;
  /** Request the adapter from this GPU object (e.g. `navigator.gpu` or one from the `webgpu` package's `create()`). */
  gpu?: GPU;
  /** Options for Dawn's `create()` in Node, e.g. ['backend=vulkan'] or ['adapter=NVIDIA']. */
  dawnOptions?: string[];
  powerPreference?: GPUPowerPreference;
  /** Matmul kernel; default 'blocked' on software adapters (lavapipe, SwiftShader), 'auto' (tiled or large) on GPUs. */
  matmul?: MatmulKernel;
}

/** Dawn's GPU objects in Node; held here for the process's lifetime (collecting one while a device lives crashes). */
const dawnInstances: GPU[] = [];
let defaultBackend: WebGPUBackend | null = null;

/** The backend registered by the last initWebGPU() with the default name, or null before it. */
export function getWebGPUBackend(): WebGPUBackend | null {
  return defaultBackend;
}

/**
 * Creates the device (requesting every limit the adapter offers, and 'shader-f16' where it has it) and registers
 * the backend. Resolves to it.
 */
export async function initWebGPU(opts: InitWebGPUOptions = {}): Promise<WebGPUBackend> {
  const name = opts.name ?? 'webgpu';
  let keepAlive: unknown;
  let device = opts.device;
  if (!device) {
    let adapter = opts.adapter;
    if (!adapter) {
      const gpu = opts.gpu ?? (await findGpu(opts.dawnOptions ?? []));
      keepAlive = gpu;
      adapter = (await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : {})) ?? undefined;
      if (!adapter)
        throw new DeviceError(
          'initWebGPU: no WebGPU adapter was found. In Node without a GPU, run scripts/setup-webgpu.sh and set ' +
            'VK_DRIVER_FILES to the lavapipe ICD json it prints; in a browser, WebGPU must be enabled.',
        );
    }
    const wantF16 = (opts.float16 ?? true) && adapter.features.has('shader-f16');
    device = await adapter.requestDevice({ requiredLimits: adapterLimits(adapter), requiredFeatures: wantF16 ? ['shader-f16'] : [] });
  }
  const backend = new WebGPUBackend(device, { name, keepAlive, ...(opts.matmul && { matmul: opts.matmul }) });
  registerBackend(backend, opts.priority ?? -1);
  if (opts.makeDefault) setBackend(name);
  if (name === 'webgpu') defaultBackend = backend;
  return backend;
}

/** `navigator.gpu` in browsers; Dawn through the `webgpu` package in Node. */
async function findGpu(dawnOptions: string[]): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) throw new DeviceError('initWebGPU: this environment has no navigator.gpu (WebGPU is not available)');
  const dawn = await import('webgpu');
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(dawnOptions);
  dawnInstances.push(gpu);
  return gpu;
}

/** Every numeric limit the adapter supports, so large buffers and workgroups are not capped at the defaults. */
function adapterLimits(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  const limits = adapter.limits as unknown as Record<string, unknown>;
  for (const key in limits) {
    const v = limits[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}
