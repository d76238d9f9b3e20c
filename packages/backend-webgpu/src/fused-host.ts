/** Host side of the fused kernels: parameter blocks and dispatch for softmax and layerNorm/rmsNorm; attention is in attention-host.ts. */
import type { BackendBuffer, FusedKernels, View } from '@tessera/core';
import { attentionBackward, attentionForward } from './attention-host.js';
import type { WebGPUBackend, WebGPUBuffer } from './backend.js';
import { NORM, SOFTMAX } from './kernels/fused.js';
import { halfVariant } from './kernels/half.js';
import { numel, Params } from './params.js';

const gpu = (v: View) => (v.buffer as WebGPUBuffer).gpu;
/** Bindings (of those named) whose views are float16: the float16 variant reads them as halves. */
const halves = (named: [string, View | null][]) => named.flatMap(([name, v]) => (v?.dtype === 'float16' ? [name] : []));
/** Fused outputs have the input's float dtype. */
const outDtype = (x: View) => (x.dtype === 'float16' ? 'float16' : 'float32');

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

export function makeFused(backend: WebGPUBackend): FusedKernels {
  const rt = backend.rt;
  return {
    softmax(x: View, log: boolean): BackendBuffer {
      const p = new Params();
      const r = rowsOf(p, x);
      const out = backend.make(log ? 'logSoftmax' : 'softmax', r.rows * r.n, outDtype(x));
      p.u(r.rows, r.n, log ? 1 : 0).i(r.lastStride);
      r.push();
      const kernel = halfVariant(SOFTMAX, { inputs: halves([['X', x]]), output: out.dtype === 'float16' ? 'Y' : null });
      rt.dispatch(kernel, p, [gpu(x), out.gpu], r.rows);
      return out;
    },

    layerNorm(x: View, weight: View | null, bias: View | null, eps: number): BackendBuffer {
      return norm('layerNorm', x, weight, bias, eps, true);
    },

    rmsNorm(x: View, weight: View | null, eps: number): BackendBuffer {
      return norm('rmsNorm', x, weight, null, eps, false);
    },

    attention(q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number): BackendBuffer {
      return attentionForward(backend, q, k, v, mask, isCausal, scale);
    },

    attentionBackward(q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number, out: View, gradOut: View) {
      return attentionBackward(backend, q, k, v, mask, isCausal, scale, out, gradOut);
    },
  };

  function norm(op: string, x: View, w: View | null, b: View | null, eps: number, center: boolean): BackendBuffer {
    const p = new Params();
    const r = rowsOf(p, x);
    const out = backend.make(op, r.rows * r.n, outDtype(x));
    p.u(r.rows, r.n, center ? 1 : 0, w ? 1 : 0, b ? 1 : 0).f(eps).i(r.lastStride);
    p.i(w?.offset ?? 0, w?.strides[0] ?? 0, b?.offset ?? 0, b?.strides[0] ?? 0);
    r.push();
    // A missing weight or bias is bound to x's buffer (never read), so layerNorm and rmsNorm share one variant.
    const kernel = halfVariant(NORM, { inputs: halves([['X', x], ['W', w ?? x], ['Bs', b ?? x]]), output: out.dtype === 'float16' ? 'Y' : null });
    rt.dispatch(kernel, p, [gpu(x), w ? gpu(w) : gpu(x), b ? gpu(b) : gpu(x), out.gpu], r.rows);
    return out;
  }
}
