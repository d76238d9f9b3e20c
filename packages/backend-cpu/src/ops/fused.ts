/** Launchers for the fused row kernels (softmax, logSoftmax, layerNorm, rmsNorm over the last axis). */
import type { BackendBuffer, FusedKernels, View } from '@tessera/core';
import { BYTES } from '../codegen/dtypes.js';
import { buildFused, FUSED_EXTRA_WORDS, type FusedKind } from '../codegen/fused.js';
import { contiguousStrides, numel } from '../layout.js';
import { FamilyCache, KernelFamily, type CpuBuffer, type Runtime } from '../runtime.js';
import { attentionBackward, attentionForward } from './attention.js';
import { copy } from './elementwise.js';

const families = new FamilyCache(
  (kind: FusedKind, dtype: 'float32' | 'float64', weight: boolean, bias: boolean) =>
    new KernelFamily(`fused:${kind}:${dtype}:${+weight}${+bias}`, (m, nd, classes) => buildFused(m, { kind, dtype, nd, classes, weight, bias })),
);

const rowsContiguous = (v: View) => v.shape.length === 0 || v.shape.at(-1) === 1 || v.strides.at(-1) === 1;

function run(rt: Runtime, kind: FusedKind, x: View, weight: View | null, bias: View | null, eps: number): CpuBuffer {
  const dtype = x.dtype as 'float32' | 'float64';
  const temps: CpuBuffer[] = [];
  /** A view whose last axis is contiguous (materialized when it is not). */
  const rowMajor = (v: View): View => {
    if (rowsContiguous(v) && v.dtype === dtype) return v;
    const buf = copy(rt, v, dtype);
    temps.push(buf);
    return { buffer: buf, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0, dtype };
  };
  try {
    const xs = rowMajor(x);
    const [w, b] = [weight && rowMajor(weight), bias && rowMajor(bias)];
    const L = x.shape.at(-1) ?? 1;
    const rows = x.shape.slice(0, -1);
    const out = rt.alloc(dtype, numel(x.shape));
    if (numel(x.shape) === 0) return out;
    const e = BYTES[dtype];
    const addr = (v: View | null) => (v ? (v.buffer as CpuBuffer).ptr + v.offset * e : 0);
    const epsWords = new Int32Array(new Float64Array([eps]).buffer);
    rt.nest(
      rows,
      [
        { addr: out.ptr, strides: contiguousStrides(x.shape).slice(0, -1), elem: e },
        { addr: addr(xs), strides: xs.strides.slice(0, -1), elem: e },
      ],
      families.get(kind, dtype, !!w, !!b),
      L * (kind.endsWith('oftmax') ? 8 : 4),
      [L, addr(w), addr(b), epsWords[0]!, epsWords[1]!].slice(0, FUSED_EXTRA_WORDS),
    );
    return out;
  } finally {
    for (const t of temps) rt.free(t);
  }
}

export function fusedKernels(rt: Runtime): FusedKernels {
  const floatOnly = (x: View) => x.dtype === 'float32' || x.dtype === 'float64';
  return {
    softmax: (x: View, log: boolean): BackendBuffer => {
      if (!floatOnly(x)) throw new Error(`cpu backend: softmax expects a float input, got ${x.dtype}`);
      return run(rt, log ? 'logSoftmax' : 'softmax', x, null, null, 0);
    },
    layerNorm: (x: View, weight: View | null, bias: View | null, eps: number): BackendBuffer => run(rt, 'layerNorm', x, weight, bias, eps),
    rmsNorm: (x: View, weight: View | null, eps: number): BackendBuffer => run(rt, 'rmsNorm', x, weight, null, eps),
    attention: (q, k, v, mask, isCausal, scale) => attentionForward(rt, q, k, v, mask, isCausal, scale),
    attentionBackward: (q, k, v, mask, isCausal, scale, out, gradOut) => attentionBackward(rt, q, k, v, mask, isCausal, scale, out, gradOut),
  };
}
