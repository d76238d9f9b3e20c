/**
 * The reference backend: every primitive in plain TypeScript over typed arrays. It is written to be read, and it is
 * the oracle the fast backends are tested against. It is the default when no other backend is registered.
 *
 * Values are computed in float64 and rounded to the output dtype on store. float16 is kept in Float32Arrays whose
 * values are rounded to half precision (see `caster`), so matmul and reductions accumulate in float64 and round once.
 */
import { arrayFor, bytesPer, type DType, type TypedArray } from '../../dtype.js';
import { ArgumentError } from '../../errors.js';
import { normalFromWords, randomWords, uniformFromWords } from '../../random.js';
import type { Backend, BackendBuffer, BinaryOp, RandomKind, ReduceOp, UnaryOp, View } from '../interface.js';
import { binaryFns, int32BinaryFns, unaryFns } from './scalar-math.js';
import { contiguousStrides as stridesOf } from '../../shape.js';
import { caster, offsetsOf, viewOffsets } from './strided.js';

class RefBuffer implements BackendBuffer {
  constructor(
    readonly data: TypedArray,
    readonly dtype: DType,
  ) {}
  get size(): number {
    return this.data.length;
  }
}

/** Whether the view's elements are the row-major run starting at its offset. */
function isRowMajor(v: View): boolean {
  let expected = 1;
  for (let d = v.shape.length - 1; d >= 0; d--) {
    if (v.shape[d] !== 1 && v.strides[d] !== expected) return false;
    expected *= v.shape[d]!;
  }
  return true;
}

const dataOf = (v: View | BackendBuffer): TypedArray => ('buffer' in v ? (v.buffer as RefBuffer) : (v as RefBuffer)).data;

export class ReferenceBackend implements Backend {
  /** Typed as string so a subclass can register under another name (tests use one to simulate a second device). */
  readonly name: string = 'reference';
  readonly capabilities = { readSync: true, dtypes: ['bool', 'int32', 'float16', 'float32', 'float64'] as const };
  readonly fused = {};
  private live = 0;
  private bytes = 0;

  private make(dtype: DType, size: number): RefBuffer {
    this.live++;
    this.bytes += size * bytesPer(dtype);
    return new RefBuffer(arrayFor(dtype, size), dtype);
  }

  upload(data: TypedArray, dtype: DType): BackendBuffer {
    const out = this.make(dtype, data.length);
    const cast = caster(dtype);
    for (let i = 0; i < data.length; i++) out.data[i] = cast(data[i]!);
    return out;
  }
  free(buffer: BackendBuffer): void {
    this.live--;
    this.bytes -= buffer.size * bytesPer(buffer.dtype);
  }
  memory() {
    return { buffers: this.live, bytes: this.bytes };
  }
  readSync(view: View): TypedArray {
    const src = dataOf(view);
    // A row-major run is one slice (index checks read their mirrors through here every step).
    if (isRowMajor(view)) return src.slice(view.offset, view.offset + view.shape.reduce((a, b) => a * b, 1));
    const offs = viewOffsets(view);
    const out = arrayFor(view.dtype, offs.length);
    for (let i = 0; i < offs.length; i++) out[i] = src[offs[i]!]!;
    return out;
  }
  read(view: View): Promise<TypedArray> {
    return Promise.resolve(this.readSync(view));
  }

  fill(size: number, value: number, dtype: DType): BackendBuffer {
    const out = this.make(dtype, size);
    out.data.fill(caster(dtype)(value));
    return out;
  }
  random(size: number, kind: RandomKind, key: number, start: number, dtype: DType): BackendBuffer {
    const out = this.make(dtype, size);
    const f64 = dtype === 'float64';
    const cast = caster(dtype);
    for (let j = 0; j < size; j++) {
      const [w0, w1] = randomWords(key, start, j);
      out.data[j] = cast(kind === 'uniform' ? uniformFromWords(w0, w1, f64) : normalFromWords(w0, w1));
    }
    return out;
  }

  copy(x: View, outDtype: DType): BackendBuffer {
    const src = dataOf(x);
    const offs = viewOffsets(x);
    const out = this.make(outDtype, offs.length);
    const cast = caster(outDtype);
    for (let i = 0; i < offs.length; i++) out.data[i] = cast(src[offs[i]!]!);
    return out;
  }
  assign(dst: View, src: View): void {
    const d = dataOf(dst);
    const s = dataOf(src);
    const dOff = viewOffsets(dst);
    const sOff = viewOffsets(src);
    const cast = caster(dst.dtype);
    // Read everything first so an overlapping src/dst behaves like a copy.
    const vals = Array.from(sOff, (o) => cast(s[o]!));
    for (let i = 0; i < dOff.length; i++) d[dOff[i]!] = vals[i]!;
  }
  unary(op: UnaryOp, x: View, outDtype: DType): BackendBuffer {
    const src = dataOf(x);
    const offs = viewOffsets(x);
    const out = this.make(outDtype, offs.length);
    const f = unaryFns[op];
    const cast = caster(outDtype);
    for (let i = 0; i < offs.length; i++) out.data[i] = cast(f(src[offs[i]!]!));
    return out;
  }
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): BackendBuffer {
    const da = dataOf(a);
    const db = dataOf(b);
    const oa = viewOffsets(a);
    const ob = viewOffsets(b);
    const out = this.make(outDtype, oa.length);
    const f = (outDtype === 'int32' && int32BinaryFns[op]) || binaryFns[op];
    const cast = caster(outDtype);
    for (let i = 0; i < oa.length; i++) out.data[i] = cast(f(da[oa[i]!]!, db[ob[i]!]!));
    return out;
  }
  where(cond: View, a: View, b: View, outDtype: DType): BackendBuffer {
    const dc = dataOf(cond);
    const da = dataOf(a);
    const db = dataOf(b);
    const [oc, oa, ob] = [viewOffsets(cond), viewOffsets(a), viewOffsets(b)];
    const out = this.make(outDtype, oc.length);
    for (let i = 0; i < oc.length; i++) out.data[i] = dc[oc[i]!] ? da[oa[i]!]! : db[ob[i]!]!;
    return out;
  }
  reduce(op: ReduceOp, x: View, axes: readonly number[], outDtype: DType): BackendBuffer {
    const src = dataOf(x);
    const keep = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const outer = offsetsOf(keep.map((d) => x.shape[d]!), keep.map((d) => x.strides[d]!), x.offset);
    const inner = offsetsOf(axes.map((d) => x.shape[d]!), axes.map((d) => x.strides[d]!), 0);
    const out = this.make(outDtype, outer.length);
    const cast = caster(outDtype);
    if ((op === 'max' || op === 'min' || op === 'argmax' || op === 'argmin') && inner.length === 0)
      throw new ArgumentError(`${op}: cannot reduce over an empty dimension (shape [${x.shape.join(', ')}])`);
    for (let i = 0; i < outer.length; i++) {
      const base = outer[i]!;
      let acc: number;
      switch (op) {
        case 'sum':
          acc = 0;
          for (let j = 0; j < inner.length; j++) acc += src[base + inner[j]!]!;
          break;
        case 'prod':
          acc = 1;
          for (let j = 0; j < inner.length; j++) acc *= src[base + inner[j]!]!;
          break;
        case 'max':
        case 'min': {
          const isMax = op === 'max';
          acc = src[base + inner[0]!]!;
          for (let j = 1; j < inner.length && !Number.isNaN(acc); j++) {
            const v = src[base + inner[j]!]!;
            if (Number.isNaN(v) || (isMax ? v > acc : v < acc)) acc = v;
          }
          break;
        }
        case 'argmax':
        case 'argmin': {
          const isMax = op === 'argmax';
          let best = src[base + inner[0]!]!;
          acc = 0;
          for (let j = 1; j < inner.length && !Number.isNaN(best); j++) {
            const v = src[base + inner[j]!]!;
            if (Number.isNaN(v) || (isMax ? v > best : v < best)) {
              best = v;
              acc = j;
            }
          }
          break;
        }
      }
      out.data[i] = cast(acc);
    }
    return out;
  }
  matmul(a: View, b: View, outDtype: DType): BackendBuffer {
    const nd = a.shape.length;
    const [M, K, N] = [a.shape[nd - 2]!, a.shape[nd - 1]!, b.shape[nd - 1]!];
    const batch = a.shape.slice(0, nd - 2);
    const ba = offsetsOf(batch, a.strides.slice(0, nd - 2), a.offset);
    const bb = offsetsOf(batch, b.strides.slice(0, nd - 2), b.offset);
    const [sam, sak, sbk, sbn] = [a.strides[nd - 2]!, a.strides[nd - 1]!, b.strides[nd - 2]!, b.strides[nd - 1]!];
    const da = dataOf(a);
    const db = dataOf(b);
    const out = this.make(outDtype, ba.length * M * N);
    const cast = caster(outDtype);
    const row = new Float64Array(N);
    for (let p = 0; p < ba.length; p++) {
      for (let m = 0; m < M; m++) {
        row.fill(0);
        for (let k = 0; k < K; k++) {
          const av = da[ba[p]! + m * sam + k * sak]!;
          const bo = bb[p]! + k * sbk;
          for (let n = 0; n < N; n++) row[n]! += av * db[bo + n * sbn]!;
        }
        const o = (p * M + m) * N;
        for (let n = 0; n < N; n++) out.data[o + n] = cast(row[n]!);
      }
    }
    return out;
  }
  /** Offsets into x for each position of index's shape, with `dim` contributing nothing (it comes from index). */
  private scatterGatherOffsets(x: View, dim: number, index: View) {
    const strides = x.strides.map((s, d) => (d === dim ? 0 : s));
    return { base: offsetsOf(index.shape, strides, x.offset), idxOff: viewOffsets(index), size: x.shape[dim]! };
  }
  private checkIndex(op: string, i: number, size: number): number {
    // Like PyTorch, gather/scatter indices must lie in [0, size): a negative index is an error, not a wrap-around.
    if (i < 0 || i >= size) throw new ArgumentError(`${op}: index ${i} is out of bounds for dimension of size ${size}`);
    return i;
  }
  gather(x: View, dim: number, index: View): BackendBuffer {
    const { base, idxOff, size } = this.scatterGatherOffsets(x, dim, index);
    const src = dataOf(x);
    const idx = dataOf(index);
    const out = this.make(x.dtype, base.length);
    for (let i = 0; i < base.length; i++)
      out.data[i] = src[base[i]! + this.checkIndex('gather', idx[idxOff[i]!]!, size) * x.strides[dim]!]!;
    return out;
  }
  scatter(mode: 'set' | 'add', base: View, dim: number, index: View, src: View): BackendBuffer {
    const out = this.copy(base, base.dtype) as RefBuffer;
    const contiguousBase = { ...base, buffer: out, offset: 0, strides: stridesOf(base.shape) };
    const { base: offs, idxOff } = this.scatterGatherOffsets(contiguousBase, dim, index);
    const srcOff = offsetsOf(index.shape, src.strides, src.offset);
    const s = dataOf(src);
    const idx = dataOf(index);
    const stride = contiguousBase.strides[dim]!;
    const cast = caster(base.dtype);
    const op = mode === 'set' ? 'scatter' : 'scatterAdd';
    for (let i = 0; i < offs.length; i++) {
      const o = offs[i]! + this.checkIndex(op, idx[idxOff[i]!]!, base.shape[dim]!) * stride;
      out.data[o] = cast(mode === 'set' ? s[srcOff[i]!]! : out.data[o]! + s[srcOff[i]!]!);
    }
    return out;
  }
  cumsum(x: View, dim: number, outDtype: DType): BackendBuffer {
    const out = this.copy(x, outDtype) as RefBuffer;
    const strides = stridesOf(x.shape);
    const lines = offsetsOf(x.shape.map((s, d) => (d === dim ? 1 : s)), strides, 0);
    const [n, st] = [x.shape[dim]!, strides[dim]!];
    const cast = caster(outDtype);
    for (const o of lines) {
      let acc = 0;
      for (let k = 0; k < n; k++) out.data[o + k * st] = cast((acc += out.data[o + k * st]!));
    }
    return out;
  }
  sort(x: View, descending: boolean): { values: BackendBuffer; indices: BackendBuffer } {
    const data = this.readSync(x);
    const n = x.shape.at(-1) ?? 1;
    const values = this.make(x.dtype, data.length);
    const indices = this.make('int32', data.length);
    // NaN sorts as the largest value, like PyTorch.
    const key = (v: number) => (Number.isNaN(v) ? Infinity : v);
    const isNan = (v: number) => Number.isNaN(v);
    for (let r = 0; r * n < data.length; r++) {
      const row = Array.from({ length: n }, (_, i) => i);
      const v = (i: number) => data[r * n + i]!;
      row.sort((i, j) => {
        const [a, b] = [v(i), v(j)];
        const c = key(a) - key(b) || +isNan(a) - +isNan(b);
        return (descending ? -c : c) || i - j;
      });
      row.forEach((src, i) => {
        values.data[r * n + i] = v(src);
        indices.data[r * n + i] = src;
      });
    }
    return { values, indices };
  }
}

