/** Host side of sort: merge passes of doubling width (kernels/indexing.ts SORT), ping-ponging between two buffers. */
import type { BackendBuffer, View } from '@tessera/core';
import type { WebGPUBackend, WebGPUBuffer } from './backend.js';
import { halfVariant } from './kernels/half.js';
import { SORT } from './kernels/indexing.js';
import { dtCode, numel, Params } from './params.js';
import { Runtime } from './runtime.js';

export function sortLastAxis(backend: WebGPUBackend, x: View, descending: boolean): { values: BackendBuffer; indices: BackendBuffer } {
  const total = numel(x.shape);
  const nd = x.shape.length;
  const n = nd === 0 ? 1 : x.shape[nd - 1]!;
  const rows = n === 0 ? 0 : total / n;
  const values = backend.make('sort', total, x.dtype);
  const indices = backend.make('sort', total, 'int32');
  if (total === 0) return { values, indices };
  let passes = 1;
  for (let w = 1; 2 * w < n; w *= 2) passes++;
  // Pass p writes the outputs when passes − 1 − p is even, so the last pass lands in them.
  const spare = passes > 1 ? [backend.make('sort', total, x.dtype), backend.make('sort', total, 'int32')] : null;
  const input = (x.buffer as WebGPUBuffer).gpu;
  // float16 values (outputs and the spare) are stored as halves; the kernel reads them widened.
  const kernel = x.dtype === 'float16' ? halfVariant(SORT, { output: 'DV' }) : SORT;
  for (let p = 0; p < passes; p++) {
    const toOut = (passes - 1 - p) % 2 === 0;
    const [dv, di] = toOut ? [values, indices] : spare!;
    const params = new Params().u(rows, n, descending ? 1 : 0, dtCode('sort', x.dtype)).i(nd === 0 ? 1 : x.strides[nd - 1]!).u(2 ** p, p === 0 ? 1 : 0);
    params.view(x.shape.slice(0, Math.max(0, nd - 1)), x.strides.slice(0, Math.max(0, nd - 1)), x.offset);
    // The first pass reads the input as its source values and numbers the elements itself (no source indices).
    const [sv, si] = p === 0 ? [input, null] : toOut ? [spare![0]!.gpu, spare![1]!.gpu] : [values.gpu, indices.gpu];
    backend.rt.dispatch(kernel, params, [sv, si, dv!.gpu, di!.gpu], Runtime.groupsFor(total));
  }
  if (spare) for (const b of spare) backend.free(b);
  return { values, indices };
}
