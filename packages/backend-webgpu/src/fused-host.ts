/** Host side of the fused kernels: parameter blocks and dispatch for softmax, layerNorm/rmsNorm and attention. */
import { ShapeError, type BackendBuffer, type FusedKernels, type View } from '@tessera/core';
import type { WebGPUBackend, WebGPUBuffer } from './backend.js';
import { ATTENTION, NORM, SOFTMAX } from './kernels/fused.js';
import { numel, Params } from './params.js';

const gpu = (v: View) => (v.buffer as WebGPUBuffer).gpu;

/** Rows of a view over its last axis: the leading dims' view descriptor and the last stride. */
function rowsOf(p: Params, x: View): { rows: number; n: number; lastStride: number; push: () => number } {
  const nd = x.shape.length;
  const n = nd === 0 ? 1 : x.shape[nd - 1]!;
  const rows = n === 0 ? 0 : numel(x.shape) / n;
  return {
    rows,
    n,
    lastStride: nd === 0 ? 1 : x.strides[nd - 1]!,
    push: () => p.view(x.shape.slice(0, Math.max(0, nd - 1)), x.strides.slice(0, Math.max(0, nd - 1)), x.offset),
  };
}

/** Strides of a view broadcast (right-aligned, stride 0 on missing or size-1 dims) to a 4-D shape. */
function strides4(op: string, v: View, target: readonly number[]): number[] {
  const lead = 4 - v.shape.length;
  if (lead < 0) throw new ShapeError(`${op}: expected at most 4 dims, got [${v.shape.join(', ')}]`);
  return target.map((size, d) => {
    if (d < lead) return 0;
    const own = v.shape[d - lead]!;
    if (own === size) return own === 1 ? 0 : v.strides[d - lead]!;
    if (own === 1) return 0;
    throw new ShapeError(`${op}: mask of shape [${v.shape.join(', ')}] does not broadcast to [${target.join(', ')}]`);
  });
}

export function makeFused(backend: WebGPUBackend): FusedKernels {
  const rt = backend.rt;
  return {
    softmax(x: View, log: boolean): BackendBuffer {
      const p = new Params();
      const r = rowsOf(p, x);
      const out = backend.make(log ? 'logSoftmax' : 'softmax', r.rows * r.n, 'float32');
      p.u(r.rows, r.n, log ? 1 : 0).i(r.lastStride);
      r.push();
      rt.dispatch(SOFTMAX, p, [gpu(x), out.gpu], r.rows);
      return out;
    },

    layerNorm(x: View, weight: View | null, bias: View | null, eps: number): BackendBuffer {
      return norm('layerNorm', x, weight, bias, eps, true);
    },

    rmsNorm(x: View, weight: View | null, eps: number): BackendBuffer {
      return norm('rmsNorm', x, weight, null, eps, false);
    },

    attention(q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number): BackendBuffer {
      const [B, H, L, D] = q.shape as [number, number, number, number];
      const S = k.shape[2]!;
      const Dv = v.shape[3]!;
      const out = backend.make('attention', B * H * L * Dv, 'float32');
      const layout = (t: View, s: number[]) => [...s, t.offset];
      const maskLayout = mask ? layout(mask, strides4('attention', mask, [B, H, L, S])) : [0, 0, 0, 0, 0];
      // 64 lanes × 4 columns per pass; wider values take several passes over the keys.
      for (let dvBase = 0; dvBase < Math.max(Dv, 1); dvBase += 256) {
        const p = new Params().u(B, H, L, S, D, Dv, dvBase, mask ? 1 : 0, isCausal ? 1 : 0).f(scale);
        p.i(...layout(q, [...q.strides]), ...layout(k, [...k.strides]), ...layout(v, [...v.strides]), ...maskLayout);
        rt.dispatch(ATTENTION, p, [gpu(q), gpu(k), gpu(v), mask ? gpu(mask) : gpu(q), out.gpu], B * H * L);
      }
      return out;
    },
  };

  function norm(op: string, x: View, w: View | null, b: View | null, eps: number, center: boolean): BackendBuffer {
    const p = new Params();
    const r = rowsOf(p, x);
    const out = backend.make(op, r.rows * r.n, 'float32');
    p.u(r.rows, r.n, center ? 1 : 0, w ? 1 : 0, b ? 1 : 0).f(eps).i(r.lastStride);
    p.i(w?.offset ?? 0, w?.strides[0] ?? 0, b?.offset ?? 0, b?.strides[0] ?? 0);
    r.push();
    rt.dispatch(NORM, p, [gpu(x), w ? gpu(w) : gpu(x), b ? gpu(b) : gpu(x), out.gpu], r.rows);
    return out;
  }
}
