/**
 * @tessera/backend-cpu — the fast CPU backend for Node: tensors in one shared WebAssembly memory, kernels generated
 * as WebAssembly SIMD128 at run time from TypeScript, large ops spread over worker threads. Importing the package
 * registers it as 'cpu' with priority above the reference backend, so it becomes the default.
 */
import { registerBackend } from '@tessera/core';
import { CpuBackend } from './backend.js';

export { CpuBackend } from './backend.js';

/** The registered 'cpu' backend instance. */
export const cpuBackend = new CpuBackend('cpu');

/** Sets how many threads (the calling one included) large kernels use; defaults to the machine's cores. */
export function setNumThreads(n: number): void {
  cpuBackend.numThreads = n;
}
export function getNumThreads(): number {
  return cpuBackend.numThreads;
}

registerBackend(cpuBackend, 10);
