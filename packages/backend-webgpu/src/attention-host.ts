/**
 * Host side of attention: parameter blocks and dispatches for the forward and the three backward passes
 * (kernels/attention.ts). Inputs are read in place through their strides; the only memory besides the outputs is
 * 3 floats of row statistics per query row, stored past dk's elements in dk's buffer.
 */
import { ShapeError, type BackendBuffer, type View } from '@tessera/core';
import { gpuOf, WebGPUBuffer, type WebGPUBackend } from './backend.js';
import type { KernelSource } from './runtime.js';
import {
  ATTENTION, ATTENTION_BACKWARD, ATTENTION_BACKWARD_NARROW, ATTENTION_COLS, ATTENTION_NARROW, ATTENTION_NARROW_COLS,
} from './kernels/attention.js';
import { Params } from './params.js';

/**
 * The kernel and the output columns one dispatch of it covers for heads of `cols` columns: the narrow one when they
 * fit (half the registers and work per thread), else the wide one, repeated for wider heads.
 */
const pick = (cols: number, narrow: KernelSource, wide: KernelSource): [KernelSource, number] =>
  cols <= ATTENTION_NARROW_COLS ? [narrow, ATTENTION_NARROW_COLS] : [wide, ATTENTION_COLS];
/** Row statistics per query row: max, sum, Δ. */
const STATS = 3;

/** [strides of the 4 dims…, offset] of a view, broadcast to `target` (stride 0 on missing or size-1 dims). */
function layout(op: string, name: string, v: View, target: readonly number[]): number[] {
  const lead = 4 - v.shape.length;
  if (lead < 0) throw new ShapeError(`${op}: expected ${name} with at most 4 dims, got [${v.shape.join(', ')}]`);
  const strides = target.map((size, d) => {
    if (d < lead) return 0;
    const own = v.shape[d - lead]!;
    if (own === size) return own === 1 ? 0 : v.strides[d - lead]!;
    if (own === 1) return 0;
    throw new ShapeError(`${op}: ${name} of shape [${v.shape.join(', ')}] does not broadcast to [${target.join(', ')}]`);
  });
  return [...strides, v.offset];
}

interface Dims {
  B: number;
  H: number;
  L: number;
  S: number;
  D: number;
  Dv: number;
}

function dimsOf(q: View, k: View, v: View): Dims {
  const [B, H, L, D] = q.shape as [number, number, number, number];
  return { B, H, L, S: k.shape[2]!, D, Dv: v.shape[3]! };
}

/**
 * The shared parameter block; `vSlot` is the view bound in V's slot (O in the backward's stats pass), `gradOut` the
 * output gradient (backward only).
 */
function params(
  op: string, d: Dims, q: View, k: View, vSlot: View, gradOut: View | null, mask: View | null, isCausal: boolean, scale: number,
  mode: number, colBase: number, statsAt: number,
): Params {
  const p = new Params().u(d.B, d.H, d.L, d.S, d.D, d.Dv, colBase, mask ? 1 : 0, isCausal ? 1 : 0).f(scale).u(mode, statsAt);
  p.i(...layout(op, 'q', q, [d.B, d.H, d.L, d.D]), ...layout(op, 'k', k, [d.B, d.H, d.S, d.D]));
  p.i(...layout(op, 'v', vSlot, vSlot.shape));
  p.i(...(gradOut ? layout(op, 'gradOut', gradOut, [d.B, d.H, d.L, d.Dv]) : [0, 0, 0, 0, 0]));
  p.i(...(mask ? layout(op, 'mask', mask, [d.B, d.H, d.L, d.S]) : [0, 0, 0, 0, 0]));
  return p;
}

/** Workgroups for n rows per head: 64 rows each. */
const groupsFor = (d: Dims, n: number) => d.B * d.H * Math.ceil(n / 64);

export function attentionForward(backend: WebGPUBackend, q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number): BackendBuffer {
  const d = dimsOf(q, k, v);
  const out = backend.make('attention', d.B * d.H * d.L * d.Dv, 'float32', [q, k, v, ...(mask ? [mask] : [])].map(gpuOf));
  const [kernel, cols] = pick(d.Dv, ATTENTION_NARROW, ATTENTION);
  for (let colBase = 0; colBase < Math.max(d.Dv, 1); colBase += cols) {
    const p = params('attention', d, q, k, v, null, mask, isCausal, scale, 0, colBase, 0);
    backend.rt.dispatch(kernel, p, [gpuOf(q), gpuOf(k), gpuOf(v), mask && gpuOf(mask), out.gpu], groupsFor(d, d.L));
  }
  return out;
}

export function attentionBackward(
  backend: WebGPUBackend, q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number, out: View, gradOut: View,
): { dq: BackendBuffer; dk: BackendBuffer; dv: BackendBuffer } {
  const op = 'attentionBackward';
  const d = dimsOf(q, k, v);
  const [rows, keys] = [d.B * d.H * d.L, d.B * d.H * d.S];
  // Outputs never share a buffer with the read-only inputs (see ATTENTION_BACKWARD).
  const apart = [q, k, v, out, gradOut, ...(mask ? [mask] : [])].map(gpuOf);
  const dq = backend.make(op, rows * d.D, 'float32', apart);
  const dv = backend.make(op, keys * d.Dv, 'float32', apart);
  // dk's buffer also holds the row statistics, past its own elements.
  const statsAt = keys * d.D;
  const dk = new WebGPUBuffer(statsAt, 'float32', backend.rt.alloc((statsAt + STATS * rows) * 4, apart));
  // One kernel for all three passes (the stats pass needs no columns; sharing keeps lavapipe to one compile).
  const [kernel, cols] = pick(Math.max(d.D, d.Dv), ATTENTION_BACKWARD_NARROW, ATTENTION_BACKWARD);
  const inputs = (vSlot: View) => [gpuOf(q), gpuOf(k), gpuOf(vSlot), mask && gpuOf(mask), gpuOf(gradOut)];
  const pass = (mode: number, colBase: number, vSlot: View, z: WebGPUBuffer, groups: number) => {
    const p = params(op, d, q, k, vSlot, gradOut, mask, isCausal, scale, mode, colBase, statsAt);
    backend.rt.dispatch(kernel, p, [...inputs(vSlot), dk.gpu, z.gpu], groups);
  };
  pass(0, 0, out, dq, groupsFor(d, d.L));
  for (let colBase = 0; colBase < d.D; colBase += cols) pass(1, colBase, v, dq, groupsFor(d, d.L));
  for (let colBase = 0; colBase < Math.max(d.D, d.Dv); colBase += cols) pass(2, colBase, v, dv, groupsFor(d, d.S));
  return { dq, dk, dv };
}
