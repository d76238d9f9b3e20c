/** Reductions: the kept dims form the loop nest, the reduced dims collapse into one strided run per output. */
import { ArgumentError, type DType, type ReduceOp, type View } from '@tessera/core';
import { BYTES } from '../codegen/dtypes.js';
import { buildReduce } from '../codegen/reduce.js';
import { collapse, contiguousStrides, numel } from '../layout.js';
import { fill } from '../memory-io.js';
import { FamilyCache, KernelFamily, type CpuBuffer, type Runtime } from '../runtime.js';
import { copy } from './elementwise.js';

const families = new FamilyCache(
  (op: ReduceOp, inDtype: DType, outDtype: DType, contiguousRun: boolean) =>
    new KernelFamily(`red:${op}:${inDtype}>${outDtype}:${contiguousRun ? 'c' : 'g'}`, (m, nd, classes) =>
      buildReduce(m, { op, in: inDtype, out: outDtype, nd, classes, contiguousRun }),
    ),
);

export function reduce(rt: Runtime, op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): CpuBuffer {
  const keep = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const outShape = keep.map((d) => x.shape[d]!);
  const L = numel(axes.map((d) => x.shape[d]!));
  if (L === 0) {
    if (op === 'sum' || op === 'prod') return fill(rt, numel(outShape), op === 'sum' ? 0 : 1, outDtype);
    throw new ArgumentError(`${op}: cannot reduce over an empty dimension (shape [${x.shape.join(', ')}])`);
  }
  const red = collapse(axes.map((d) => x.shape[d]!), [axes.map((d) => x.strides[d]!)]);
  if (red.shape.length > 1) {
    // The reduced dims do not merge into one run: lay x out as [kept..., reduced...] first.
    const perm = [...keep, ...axes];
    const shape = perm.map((d) => x.shape[d]!);
    const temp = copy(rt, { ...x, shape, strides: perm.map((d) => x.strides[d]!) }, x.dtype);
    try {
      const tv: View = { buffer: temp, shape, strides: contiguousStrides(shape), offset: 0, dtype: x.dtype };
      return reduce(rt, op, tv, axes.map((_, i) => keep.length + i), outDtype);
    } finally {
      rt.free(temp);
    }
  }
  const out = rt.alloc(outDtype, numel(outShape));
  const elem = BYTES[x.dtype];
  const step = red.strides[0]![0]!;
  const xOperand = { ...rt.operand(x), strides: keep.map((d) => x.strides[d]!) };
  rt.nest(
    outShape,
    [{ addr: out.ptr, strides: contiguousStrides(outShape), elem: BYTES[outDtype] }, xOperand],
    families.get(op, x.dtype, outDtype, step === 1),
    L,
    [L, step * elem],
  );
  return out;
}
