/** gather, scatter, cumsum (generated kernels), sort (host code over heap memory) and random. */
import { ArgumentError, type DType, type RandomKind, type View } from '@tessera/core';
import { BYTES } from '../codegen/dtypes.js';
import { buildCumsum, buildGather, buildScatter, INDEX_ERROR_FLAG, INDEX_ERROR_VALUE } from '../codegen/indexing.js';
import { buildRandom, randomKey } from '../codegen/random.js';
import { DESC_BASE } from '../heap.js';
import { contiguousStrides, numel } from '../layout.js';
import { heapArray, readView } from '../memory-io.js';
import { FamilyCache, KernelFamily, type CpuBuffer, type Runtime } from '../runtime.js';
import { copy } from './elementwise.js';

const gathers = new FamilyCache((dtype: DType) => new KernelFamily(`gather:${dtype}`, (m, nd, classes) => buildGather(m, { dtype, nd, classes })));
const scatters = new FamilyCache(
  (mode: 'set' | 'add', dtype: DType) => new KernelFamily(`scatter:${mode}:${dtype}`, (m, nd, classes) => buildScatter(m, { mode, dtype, nd, classes })),
);
const cumsums = new FamilyCache(
  (inDtype: DType, outDtype: DType) => new KernelFamily(`cumsum:${inDtype}>${outDtype}`, (m, nd, classes) => buildCumsum(m, { in: inDtype, out: outDtype, nd, classes })),
);

/** Throws the reference backend's error if the last kernel reported an out-of-range index. */
function checkIndexError(rt: Runtime, op: string, size: number, out: CpuBuffer): void {
  const i32 = rt.heap.i32;
  if (i32[INDEX_ERROR_FLAG / 4] === 0) return;
  const bad = i32[INDEX_ERROR_VALUE / 4]!;
  i32[INDEX_ERROR_FLAG / 4] = 0;
  rt.free(out);
  throw new ArgumentError(`${op}: index ${bad} is out of bounds for dimension of size ${size}`);
}

export function gather(rt: Runtime, x: View, dim: number, index: View): CpuBuffer {
  const out = rt.alloc(x.dtype, numel(index.shape));
  const size = x.shape[dim]!;
  const xOp = { ...rt.operand(x), strides: x.strides.map((s, d) => (d === dim ? 0 : s)) };
  rt.nest(
    index.shape,
    [{ addr: out.ptr, strides: contiguousStrides(index.shape), elem: BYTES[x.dtype] }, rt.operand(index), xOp],
    gathers.get(x.dtype),
    2,
    [size, x.strides[dim]! * BYTES[x.dtype]],
  );
  checkIndexError(rt, 'gather', size, out);
  return out;
}

export function scatter(rt: Runtime, mode: 'set' | 'add', base: View, dim: number, index: View, src: View): CpuBuffer {
  const out = copy(rt, base, base.dtype);
  const elem = BYTES[base.dtype];
  const outStrides = contiguousStrides(base.shape);
  const size = base.shape[dim]!;
  const outOp = { addr: out.ptr, strides: outStrides.map((s, d) => (d === dim ? 0 : s)), elem };
  rt.nest(
    index.shape,
    [outOp, rt.operand(index), { ...rt.operand(src), strides: src.strides.slice(0, index.shape.length) }],
    scatters.get(mode, base.dtype),
    0,
    [size, outStrides[dim]! * elem],
  );
  checkIndexError(rt, mode === 'set' ? 'scatter' : 'scatterAdd', size, out);
  return out;
}

export function cumsum(rt: Runtime, x: View, dim: number, outDtype: DType): CpuBuffer {
  const out = rt.alloc(outDtype, numel(x.shape));
  if (numel(x.shape) === 0) return out;
  const outStrides = contiguousStrides(x.shape);
  const others = x.shape.map((_, d) => d).filter((d) => d !== dim);
  rt.nest(
    others.map((d) => x.shape[d]!),
    [
      { addr: out.ptr, strides: others.map((d) => outStrides[d]!), elem: BYTES[outDtype] },
      { ...rt.operand(x), strides: others.map((d) => x.strides[d]!) },
    ],
    cumsums.get(x.dtype, outDtype),
    x.shape[dim]!,
    [x.shape[dim]!, outStrides[dim]! * BYTES[outDtype], x.strides[dim]! * BYTES[x.dtype]],
  );
  return out;
}

/** Stable sort along the last axis; NaN sorts as the largest value, like PyTorch. */
export function sort(rt: Runtime, x: View, descending: boolean): { values: CpuBuffer; indices: CpuBuffer } {
  const data = readView(rt, x);
  const total = data.length;
  const n = x.shape.at(-1) ?? 1;
  const values = rt.alloc(x.dtype, total);
  const indices = rt.alloc('int32', total);
  const vals = heapArray(rt, x.dtype, values.ptr, total);
  const idxs = heapArray(rt, 'int32', indices.ptr, total);
  const sign = descending ? -1 : 1;
  const order = new Array<number>(n);
  for (let start = 0; start < total; start += n) {
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((i, j) => {
      const a = data[start + i]!;
      const b = data[start + j]!;
      const an = a !== a;
      const bn = b !== b;
      const c = an || bn ? +an - +bn : a < b ? -1 : a > b ? 1 : 0;
      return sign * c || i - j;
    });
    for (let i = 0; i < n; i++) {
      vals[start + i] = data[start + order[i]!]!;
      idxs[start + i] = order[i]!;
    }
  }
  return { values, indices };
}

export function random(rt: Runtime, size: number, kind: RandomKind, key: number, start: number, dtype: DType): CpuBuffer {
  const out = rt.alloc(dtype, size);
  if (size === 0) return out;
  const k = rt.kernels.get(randomKey(kind, dtype), (m) => buildRandom(m, kind, dtype));
  const i32 = rt.heap.i32;
  i32[DESC_BASE / 4] = out.ptr;
  i32[DESC_BASE / 4 + 1] = key;
  i32[DESC_BASE / 4 + 2] = start;
  // Any slice [lo, hi) is fine: element j's counter is start + 2j wherever j lands.
  rt.pool.run(k, DESC_BASE, size, rt.parts(size * (kind === 'normal' ? 16 : 2)));
  return out;
}
