/**
 * Host side of the fused kernels: parameter blocks and dispatch for softmax, layerNorm/rmsNorm and their backward,
 * and the activation backward; attention is in attention-host.ts.
 */
import type { ActivationKind, BackendBuffer, FusedKernels, NormBackwardWants, View } from '@tessera/core';
import { attentionBackward, attentionForward } from './attention-host.js';
import { gpuOf, type WebGPUBackend } from './backend.js';
import { NORM, SOFTMAX } from './kernels/fused.js';
import { ACTIVATION_BACKWARD, ACTIVATION_CODE, NORM_BACKWARD } from './kernels/fused-backward.js';
import { halfVariant } from './kernels/half.js';
import { contiguousStrides, numel, Params } from './params.js';

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
      rt.dispatch(kernel, p, [gpuOf(x), out.gpu], r.rows);
      return out;
    },

    layerNorm(x: View, weight: View | null, bias: View | null, eps: number): BackendBuffer {
      return norm('layerNorm', x, weight, bias, eps, true);
    },

    rmsNorm(x: View, weight: View | null, eps: number): BackendBuffer {
      return norm('rmsNorm', x, weight, null, eps, false);
    },

    activationBackward(x: View, gradOut: View, kind: ActivationKind): BackendBuffer {
      float32Only('activationBackward', x, gradOut);
      const n = numel(x.shape);
      const out = backend.make('activationBackward', n, 'float32');
      const p = new Params().u(n, ACTIVATION_CODE[kind]);
      const [xv, gv] = [p.slot(), p.slot()];
      p.set(xv, p.view(x.shape, x.strides, x.offset));
      p.set(gv, p.view(gradOut.shape, gradOut.strides, gradOut.offset));
      rt.dispatch(ACTIVATION_BACKWARD, p, [gpuOf(x), gpuOf(gradOut), out.gpu], Math.ceil(n / 64));
      return out;
    },

    normBackward(x: View, weight: View | null, gradOut: View, eps: number, center: boolean, wants: NormBackwardWants) {
      float32Only('normBackward', x, gradOut, weight);
      const p = new Params();
      const r = rowsOf(p, x);
      const size = r.rows * r.n;
      const dx = backend.make('normBackward', size, 'float32');
      const gx = wants.weight ? backend.make('normBackward', size, 'float32') : null;
      const gLast = gradOut.shape.length === 0 ? 1 : gradOut.strides.at(-1)!;
      p.u(r.rows, r.n, center ? 1 : 0, weight ? 1 : 0, gx ? 1 : 0).f(eps).i(r.lastStride, gLast);
      p.i(weight?.offset ?? 0, weight?.strides[0] ?? 0);
      const [xv, gv] = [p.slot(), p.slot()];
      p.set(xv, r.push());
      p.set(gv, rowsOf(p, gradOut).push());
      // Absent operands are bound to the error word (never touched): binding one chunk twice would force a copy.
      rt.dispatch(NORM_BACKWARD, p, [gpuOf(x), weight ? gpuOf(weight) : null, gpuOf(gradOut), dx.gpu, gx ? gx.gpu : null], r.rows);
      const lead = x.shape.slice(0, -1).map((_, i) => i);
      /** Σ over the leading axes of a [..., n] view, as a new [n] buffer. */
      const columnSum = (v: View) => (lead.length ? backend.reduce('sum', v, lead, 'float32') : backend.copy(v, 'float32'));
      const dweight = gx ? columnSum({ buffer: gx, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0, dtype: 'float32' }) : null;
      if (gx) backend.free(gx);
      return { dx, dweight, dbias: wants.bias ? columnSum(gradOut) : null };
    },

    attention(q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number): BackendBuffer {
      return attentionForward(backend, q, k, v, mask, isCausal, scale);
    },

    attentionBackward(q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number, out: View, gradOut: View) {
      return attentionBackward(backend, q, k, v, mask, isCausal, scale, out, gradOut);
    },
  };

  function float32Only(op: string, ...vs: (View | null)[]): void {
    if (vs.some((v) => v && v.dtype !== 'float32'))
      throw new Error(`webgpu backend: ${op} expects float32 views (core keeps float16 on the composed path), got ${vs.map((v) => v?.dtype ?? 'none').join(', ')}`);
  }

  function norm(op: string, x: View, w: View | null, b: View | null, eps: number, center: boolean): BackendBuffer {
    const p = new Params();
    const r = rowsOf(p, x);
    const out = backend.make(op, r.rows * r.n, outDtype(x));
    p.u(r.rows, r.n, center ? 1 : 0, w ? 1 : 0, b ? 1 : 0).f(eps).i(r.lastStride);
    p.i(w?.offset ?? 0, w?.strides[0] ?? 0, b?.offset ?? 0, b?.strides[0] ?? 0);
    r.push();
    // A missing weight or bias is bound to x's buffer (never read), so layerNorm and rmsNorm share one variant.
    const kernel = halfVariant(NORM, { inputs: halves([['X', x], ['W', w ?? x], ['Bs', b ?? x]]), output: out.dtype === 'float16' ? 'Y' : null });
    rt.dispatch(kernel, p, [gpuOf(x), w ? gpuOf(w) : null, b ? gpuOf(b) : null, out.gpu], r.rows);
    return out;
  }
}
