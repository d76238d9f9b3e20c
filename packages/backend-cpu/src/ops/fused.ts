/**
 * Launchers for the fused row kernels (softmax, logSoftmax, layerNorm, rmsNorm over the last axis, and the norms'
 * backward), the activation backward and attention.
 */
import type { BackendBuffer, FusedKernels, NormBackwardWants, View } from '@tessera/core';
import { BYTES } from '../codegen/dtypes.js';
import { buildFused, FUSED_EXTRA_WORDS, type FusedKind } from '../codegen/fused.js';
import { buildNormBackward, NORM_BACKWARD_EXTRA_WORDS } from '../codegen/norm-backward.js';
import { contiguousStrides, numel } from '../layout.js';
import { FamilyCache, KernelFamily, type CpuBuffer, type Runtime } from '../runtime.js';
import { attentionBackward, attentionForward } from './attention.js';
import { activationBackward, copy } from './elementwise.js';
import { reduce } from './reduce.js';

const families = new FamilyCache(
  (kind: FusedKind, dtype: 'float32' | 'float64', weight: boolean, bias: boolean) =>
    new KernelFamily(`fused:${kind}:${dtype}:${+weight}${+bias}`, (m, nd, classes) => buildFused(m, { kind, dtype, nd, classes, weight, bias })),
);

const normBackwardFamilies = new FamilyCache(
  (dtype: 'float32' | 'float64', center: boolean, weight: boolean, gxhat: boolean) =>
    new KernelFamily(`normBackward:${dtype}:${+center}${+weight}${+gxhat}`, (m, nd, classes) => buildNormBackward(m, { dtype, center, weight, gxhat, nd, classes })),
);

const rowsContiguous = (v: View) => v.shape.length === 0 || v.shape.at(-1) === 1 || v.strides.at(-1) === 1;

/** Returns a function giving views whose last axis is contiguous (materialized into `temps` when not). */
function rowMajorIn(rt: Runtime, dtype: 'float32' | 'float64', temps: CpuBuffer[]) {
  return (v: View): View => {
    if (rowsContiguous(v) && v.dtype === dtype) return v;
    const buf = copy(rt, v, dtype);
    temps.push(buf);
    return { buffer: buf, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0, dtype };
  };
}

function run(rt: Runtime, kind: FusedKind, x: View, weight: View | null, bias: View | null, eps: number): CpuBuffer {
  const dtype = x.dtype as 'float32' | 'float64';
  const temps: CpuBuffer[] = [];
  const rowMajor = rowMajorIn(rt, dtype, temps);
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

/** dx of layerNorm / rmsNorm in one row kernel; dweight and dbias are column sums by the reduce kernels. */
function normBackward(rt: Runtime, x: View, weight: View | null, gradOut: View, eps: number, center: boolean, wants: NormBackwardWants) {
  const dtype = x.dtype as 'float32' | 'float64';
  if ((dtype !== 'float32' && dtype !== 'float64') || gradOut.dtype !== dtype || (weight && weight.dtype !== dtype))
    throw new Error(`cpu backend: normBackward expects x, gradOut and weight of one float dtype, got ${x.dtype}, ${gradOut.dtype}, ${weight?.dtype ?? 'none'}`);
  const temps: CpuBuffer[] = [];
  const rowMajor = rowMajorIn(rt, dtype, temps);
  try {
    const [xs, gs, w] = [rowMajor(x), rowMajor(gradOut), weight && rowMajor(weight)];
    const L = x.shape.at(-1) ?? 1;
    const rows = x.shape.slice(0, -1);
    const size = numel(x.shape);
    const dx = rt.alloc(dtype, size);
    const gx = wants.weight ? rt.alloc(dtype, size) : null;
    const e = BYTES[dtype];
    const addr = (v: View) => (v.buffer as CpuBuffer).ptr + v.offset * e;
    const outStrides = contiguousStrides(x.shape).slice(0, -1);
    if (size > 0) {
      const epsWords = new Int32Array(new Float64Array([eps]).buffer);
      rt.nest(
        rows,
        [
          { addr: dx.ptr, strides: outStrides, elem: e },
          { addr: addr(xs), strides: xs.strides.slice(0, -1), elem: e },
          { addr: addr(gs), strides: gs.strides.slice(0, -1), elem: e },
          { addr: (gx ?? dx).ptr, strides: outStrides, elem: e },
        ],
        normBackwardFamilies.get(dtype, center, !!w, !!gx),
        L * 12,
        [L, w ? addr(w) : 0, epsWords[0]!, epsWords[1]!].slice(0, NORM_BACKWARD_EXTRA_WORDS),
      );
    }
    /** Σ over the leading axes of a [..., L] view, as a new [L] buffer. */
    const columnSum = (v: View): CpuBuffer => (rows.length ? reduce(rt, 'sum', v, rows.map((_, i) => i), dtype) : copy(rt, v, dtype));
    const dweight = gx ? columnSum({ buffer: gx, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0, dtype }) : null;
    if (gx) rt.free(gx);
    const dbias = wants.bias ? columnSum(gradOut) : null;
    return { dx, dweight, dbias };
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
    activationBackward: (x, gradOut, kind) => activationBackward(rt, x, gradOut, kind),
    normBackward: (x, weight, gradOut, eps, center, wants) => normBackward(rt, x, weight, gradOut, eps, center, wants),
    attention: (q, k, v, mask, isCausal, scale) => attentionForward(rt, q, k, v, mask, isCausal, scale),
    attentionBackward: (q, k, v, mask, isCausal, scale, out, gradOut) => attentionBackward(rt, q, k, v, mask, isCausal, scale, out, gradOut),
  };
}
