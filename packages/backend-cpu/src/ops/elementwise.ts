/** Elementwise primitives on the loop-nest kernels: unary, binary, where, copy (with cast) and assign. */
import type { BinaryOp, DType, UnaryOp, View } from '@tessera/core';
import { buildElementwise, type ElementwiseSpec } from '../codegen/elementwise.js';
import type { ElementOp } from '../codegen/ops.js';
import { BYTES } from '../codegen/dtypes.js';
import { buildTranspose } from '../codegen/transpose.js';
import { collapse, contiguousStrides, numel } from '../layout.js';
import { FamilyCache, KernelFamily, type CpuBuffer, type NestOperand, type Runtime } from '../runtime.js';

const MATH: ReadonlySet<string> = new Set(['exp', 'log', 'log1p', 'expm1', 'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'gelu', 'geluTanh', 'silu', 'pow']);

/** Rough cost per element relative to an add, for the threading decision. */
function cost(op: string, dtype: DType): number {
  if (!MATH.has(op)) return 1;
  return dtype === 'float32' ? 6 : 24;
}

/** Families by (op, value dtype, output dtype); where's first input is always bool. */
const families = new FamilyCache((op: ElementwiseSpec['op'], inDtype: DType, outDtype: DType, arity: number) => {
  const ins: DType[] = op === 'where' ? ['bool', inDtype, inDtype] : new Array<DType>(arity).fill(inDtype);
  return new KernelFamily(`ew:${op}:${ins.join(',')}>${outDtype}`, (m, nd, classes) => buildElementwise(m, { op, ins, out: outDtype, nd, classes }));
});

function run(rt: Runtime, op: ElementwiseSpec['op'], shape: readonly number[], out: NestOperand, outDtype: DType, ins: readonly View[]): void {
  const operands = [out];
  for (const v of ins) operands.push(rt.operand(v));
  const inDtype = ins[ins.length - 1]!.dtype;
  rt.nest(shape, operands, families.get(op, inDtype, outDtype, ins.length), cost(op, inDtype));
}

function fresh(rt: Runtime, shape: readonly number[], dtype: DType): { buf: CpuBuffer; operand: NestOperand } {
  const buf = rt.alloc(dtype, numel(shape));
  return { buf, operand: { addr: buf.ptr, strides: contiguousStrides(shape), elem: BYTES[dtype] } };
}

export function unary(rt: Runtime, op: UnaryOp | 'copy', x: View, outDtype: DType): CpuBuffer {
  const { buf, operand } = fresh(rt, x.shape, outDtype);
  run(rt, op as ElementOp, x.shape, operand, outDtype, [x]);
  return buf;
}

export function binary(rt: Runtime, op: BinaryOp, a: View, b: View, outDtype: DType): CpuBuffer {
  const { buf, operand } = fresh(rt, a.shape, outDtype);
  run(rt, op, a.shape, operand, outDtype, [a, b]);
  return buf;
}

export function where(rt: Runtime, cond: View, a: View, b: View, outDtype: DType): CpuBuffer {
  const { buf, operand } = fresh(rt, cond.shape, outDtype);
  run(rt, 'where', cond.shape, operand, outDtype, [cond, a, b]);
  return buf;
}

const isContiguous = (v: View) => {
  const c = contiguousStrides(v.shape);
  return v.shape.every((s, d) => s === 1 || v.strides[d] === c[d]);
};

const transposes = new FamilyCache((elem: 1 | 4 | 8) => new KernelFamily(`transpose:${elem}`, (m, nd, classes) => buildTranspose(m, { elem, nd, classes })));

/**
 * The contiguous materialization of a view, cast to outDtype. Same-dtype contiguous views are a memmove; views
 * whose last two (collapsed) dims are transposed go through the tiled transpose kernel.
 */
export function copy(rt: Runtime, x: View, outDtype: DType): CpuBuffer {
  const e = BYTES[x.dtype];
  if (x.dtype === outDtype && isContiguous(x)) {
    const n = numel(x.shape);
    const out = rt.alloc(outDtype, n);
    const src = (x.buffer as CpuBuffer).ptr + x.offset * e;
    rt.heap.u8.copyWithin(out.ptr, src, src + n * e);
    return out;
  }
  if (x.dtype === outDtype && numel(x.shape) >= 64) {
    const c = collapse(x.shape, [contiguousStrides(x.shape), x.strides]);
    const nd = c.shape.length;
    const xs = c.strides[1]!;
    if (nd >= 2 && xs[nd - 2] === 1 && xs[nd - 1] !== 0 && c.shape[nd - 1]! >= 4 && c.shape[nd - 2]! >= 4) {
      const out = rt.alloc(outDtype, numel(x.shape));
      const lead = c.shape.slice(0, -2);
      const xOp = rt.operand(x);
      rt.nest(
        lead,
        [
          { addr: out.ptr, strides: c.strides[0]!.slice(0, -2), elem: e },
          { addr: xOp.addr, strides: xs.slice(0, -2), elem: e },
        ],
        transposes.get(e as 1 | 4 | 8),
        c.shape[nd - 1]! * c.shape[nd - 2]!,
        [c.shape[nd - 2]!, c.shape[nd - 1]!, xs[nd - 1]! * e],
      );
      return out;
    }
  }
  return unary(rt, 'copy', x, outDtype);
}

/** Writes src into dst's strided positions; an overlapping src is materialized first so it reads like a copy. */
export function assign(rt: Runtime, dst: View, src: View): void {
  const temp = src.buffer === dst.buffer ? copy(rt, src, src.dtype) : undefined;
  const from: View = temp ? { buffer: temp, shape: src.shape, strides: contiguousStrides(src.shape), offset: 0, dtype: src.dtype } : src;
  try {
    run(rt, 'copy', dst.shape, rt.operand(dst), dst.dtype, [from]);
  } finally {
    if (temp) rt.free(temp);
  }
}
