/** Elementwise primitives on the loop-nest kernels: unary, binary, where, copy (with cast) and assign. */
import type { ActivationKind, BinaryOp, DType, UnaryOp, View } from '@tessera/core';
import { buildElementwise, type ElementwiseSpec } from '../codegen/elementwise.js';
import { POW_CONSTANTS, type ElementOp } from '../codegen/ops.js';
import { BYTES } from '../codegen/dtypes.js';
import { buildTranspose } from '../codegen/transpose.js';
import { collapse, contiguousStrides, numel } from '../layout.js';
import { DESC_BASE, DESC_BYTES } from '../heap.js';
import { FamilyCache, KernelFamily, type CpuBuffer, type NestOperand, type Runtime } from '../runtime.js';

const MATH: ReadonlySet<string> = new Set(['exp', 'log', 'log1p', 'expm1', 'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'gelu', 'geluTanh', 'silu', 'pow', 'geluGrad', 'geluTanhGrad', 'siluGrad']);

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
  if (op === 'pow') {
    const viaConstant = powByConstant(rt, a, b, outDtype);
    if (viaConstant) return viaConstant;
  }
  const { buf, operand } = fresh(rt, a.shape, outDtype);
  run(rt, op, a.shape, operand, outDtype, [a, b]);
  return buf;
}

/** The fused activation backward gradOut·act'(x): one elementwise kernel over (x, gradOut), any strides. */
export function activationBackward(rt: Runtime, x: View, gradOut: View, kind: ActivationKind): CpuBuffer {
  if ((x.dtype !== 'float32' && x.dtype !== 'float64') || gradOut.dtype !== x.dtype)
    throw new Error(`cpu backend: activationBackward(${kind}) expects x and gradOut of one float dtype, got ${x.dtype} and ${gradOut.dtype}`);
  const { buf, operand } = fresh(rt, x.shape, x.dtype);
  run(rt, `${kind}Grad`, x.shape, operand, x.dtype, [x, gradOut]);
  return buf;
}

/**
 * float32 pow whose exponent is one broadcast value with a kernel of its own (x^1 a copy, the POW_CONSTANTS in
 * float64 lanes), instead of the per-element host Math.pow call; undefined for any other exponent.
 */
function powByConstant(rt: Runtime, a: View, b: View, outDtype: DType): CpuBuffer | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || outDtype !== 'float32') return undefined;
  if (!b.shape.every((s, d) => s === 1 || b.strides[d] === 0)) return undefined;
  const e = rt.heap.f32[(b.buffer as CpuBuffer).ptr / 4 + b.offset]!;
  if (e === 1) return unary(rt, 'copy', a, outDtype);
  if (!POW_CONSTANTS.has(e)) return undefined;
  const { buf, operand } = fresh(rt, a.shape, outDtype);
  run(rt, `pow^${e}`, a.shape, operand, outDtype, [a]);
  return buf;
}

export function where(rt: Runtime, cond: View, a: View, b: View, outDtype: DType): CpuBuffer {
  const { buf, operand } = fresh(rt, cond.shape, outDtype);
  run(rt, 'where', cond.shape, operand, outDtype, [cond, a, b]);
  return buf;
}

/** Byte address, at the end of the descriptor page, where fill parks its value for the kernel to broadcast. */
const FILL_VALUE = DESC_BASE + DESC_BYTES - 16;

/**
 * Sets every element of a buffer to `value` (already in the buffer's dtype's range): a copy from one stride-0
 * element, so it is vectorized and split over the pool like any copy. TypedArray.fill on the shared heap is a
 * per-element atomic loop in V8, about 8× slower.
 */
export function fillBuffer(rt: Runtime, out: CpuBuffer, value: number): void {
  if (out.size === 0) return;
  const h = rt.heap;
  if (out.dtype === 'bool') {
    h.u8.fill(value, out.ptr, out.ptr + out.size);
    return;
  }
  // int32 goes through the float32 kernel as raw bits (its copy moves bits, vectorized; the int32 one is scalar).
  if (out.dtype === 'float64') h.f64[FILL_VALUE / 8] = value;
  else if (out.dtype === 'float32') h.f32[FILL_VALUE / 4] = value;
  else h.i32[FILL_VALUE / 4] = value;
  const dtype = out.dtype === 'float64' ? 'float64' : 'float32';
  const elem = BYTES[dtype];
  rt.nest([out.size], [{ addr: out.ptr, strides: [1], elem }, { addr: FILL_VALUE, strides: [0], elem }], families.get('copy', dtype, dtype, 1));
}

const isContiguous = (v: View) => {
  const c = contiguousStrides(v.shape);
  return v.shape.every((s, d) => s === 1 || v.strides[d] === c[d]);
};

const transposes = new FamilyCache((elem: 1 | 4 | 8) => new KernelFamily(`transpose:${elem}`, (m, nd, classes) => buildTranspose(m, { elem, nd, classes })));

/**
 * The contiguous materialization of a view, cast to outDtype. Views whose last two (collapsed) dims are transposed
 * go through the tiled transpose kernel; the rest, contiguous ones too, through the vectorized copy kernel (about
 * 1.6× the speed of copyWithin on the shared heap, and split over the pool).
 */
export function copy(rt: Runtime, x: View, outDtype: DType): CpuBuffer {
  const e = BYTES[x.dtype];
  if (x.dtype === outDtype && numel(x.shape) >= 64 && !isContiguous(x)) {
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
