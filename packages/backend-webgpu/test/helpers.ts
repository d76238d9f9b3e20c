/**
 * Test helpers: random strided views (transposed, stepped, flipped, offset, broadcast) holding the same data on the
 * 'webgpu' backend and on the reference backend, and an element-wise comparison of their results.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { backendByName, type Backend, type BackendBuffer, type DType, type View } from '@tessera/core';
import { webgpuBackend } from '../../../test/support/webgpu.js';

export const gpu = await webgpuBackend();
export const ref: Backend = backendByName('reference');

/** A view described on the host: base data plus layout. */
export interface HostView {
  data: number[];
  shape: number[];
  strides: number[];
  offset: number;
  dtype: DType;
}

export interface ViewOptions {
  dtype?: DType;
  minDims?: number;
  maxDims?: number;
  maxSide?: number;
  minSide?: number;
  /** Values for the elements; default floats in [-3, 3] with occasional 0, ±inf, NaN when `specials`. */
  values?: fc.Arbitrary<number>;
  specials?: boolean;
  /** Allow stride-0 (broadcast) dims. */
  broadcast?: boolean;
}

/** GPUs may flush float32 subnormals to zero (WGSL does not promise them), so tests draw none. */
const noSubnormal = (x: number) => (x !== 0 && Math.abs(x) < 1.1754943508222875e-38 ? 0 : x);
export const floatValues = (specials = false): fc.Arbitrary<number> =>
  (specials
    ? fc.oneof({ weight: 12, arbitrary: fc.float({ min: -3, max: 3, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 0.5, -1) })
    : fc.float({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true })
  ).map(noSubnormal);
export const intValues = (lo = -20, hi = 20) => fc.integer({ min: lo, max: hi });
const valuesFor = (dtype: DType, o: ViewOptions) =>
  o.values ?? (dtype === 'bool' ? fc.constantFrom(0, 1) : dtype === 'int32' ? intValues() : floatValues(o.specials));

/** A layout of `shape`: each dim normal, flipped, stepped by 2 or broadcast, in a random physical dim order. */
export function layoutArb(shape: number[], broadcast = true): fc.Arbitrary<{ strides: number[]; offset: number; size: number }> {
  const nd = shape.length;
  const modes = fc.array(fc.constantFrom(...(broadcast ? ['n', 'n', 'r', 's', 'b'] : ['n', 'n', 'r', 's'])), { minLength: nd, maxLength: nd });
  return fc.tuple(modes, fc.shuffledSubarray([...Array(nd).keys()], { minLength: nd, maxLength: nd }), fc.nat(3)).map(([mode, perm, pad]) => {
    const ext = shape.map((s, d) => (mode[d] === 'b' ? 1 : mode[d] === 's' ? s * 2 : s));
    const phys = new Array<number>(nd).fill(0);
    let acc = 1;
    for (let k = nd - 1; k >= 0; k--) {
      const d = perm[k]!;
      phys[d] = acc;
      acc *= Math.max(ext[d]!, 1);
    }
    let offset = pad;
    const strides = shape.map((s, d) => {
      if (mode[d] === 'b') return 0;
      if (mode[d] === 's') return phys[d]! * 2;
      if (mode[d] === 'r') {
        offset += (s - 1) * phys[d]!;
        return -phys[d]!;
      }
      return phys[d]!;
    });
    return { strides, offset, size: pad + (shape.some((s) => s === 0) ? 0 : acc) };
  });
}

export function shapeArb(o: ViewOptions = {}): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: o.minSide ?? 1, max: o.maxSide ?? 4 }), { minLength: o.minDims ?? 0, maxLength: o.maxDims ?? 3 });
}

/** A strided view of the given shape with random data. */
export function viewOfShapeArb(shape: number[], o: ViewOptions = {}): fc.Arbitrary<HostView> {
  const dtype = o.dtype ?? 'float32';
  return layoutArb(shape, o.broadcast ?? true).chain(({ strides, offset, size }) =>
    fc.array(valuesFor(dtype, o), { minLength: size, maxLength: size }).map((data) => ({ data, shape, strides, offset, dtype })),
  );
}

export const viewArb = (o: ViewOptions = {}) => shapeArb(o).chain((s) => viewOfShapeArb(s, o));

/** Uploads a host view to both backends. */
export function upload(h: HostView): { g: View; r: View } {
  const arr = h.dtype === 'float32' ? Float32Array.from(h.data) : h.dtype === 'int32' ? Int32Array.from(h.data) : Uint8Array.from(h.data);
  const mk = (b: Backend): View => ({ buffer: b.upload(arr, h.dtype), shape: h.shape, strides: h.strides, offset: h.offset, dtype: h.dtype });
  return { g: mk(gpu), r: mk(ref) };
}

const contiguous = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
};

/** Reads a contiguous result buffer of `shape` from a backend. */
export function readBuf(b: Backend, buf: BackendBuffer, shape: readonly number[], dtype: DType = buf.dtype) {
  return b.read({ buffer: buf, shape, strides: contiguous(shape), offset: 0, dtype });
}

export interface Tol {
  atol?: number;
  rtol?: number;
}

/** |got − want| ≤ atol + rtol·|want| elementwise, NaN matching NaN and infinities exactly. */
export function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol = {}, what = 'value'): void {
  const { atol = 1e-6, rtol = 1e-5 } = tol;
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [x, y] = [got[i]!, want[i]!];
    const ok = Number.isNaN(y) ? Number.isNaN(x) : Number.isFinite(y) ? Math.abs(x - y) <= atol + rtol * Math.abs(y) : x === y;
    if (!ok) expect.fail(`${what}[${i}]: got ${x}, expected ${y} (atol ${atol}, rtol ${rtol}); got [${Array.from(got)}], want [${Array.from(want)}]`);
  }
}

/** Runs `op` on both backends and compares the contiguous results of `shape`. */
export async function compareOp(
  op: (b: Backend, views: View[]) => BackendBuffer,
  inputs: HostView[],
  shape: readonly number[],
  tol: Tol = {},
  what = 'result',
): Promise<void> {
  const ups = inputs.map(upload);
  const g = op(gpu, ups.map((u) => u.g));
  const r = op(ref, ups.map((u) => u.r));
  const [got, want] = [await readBuf(gpu, g, shape), await readBuf(ref, r, shape)];
  expectNear(got, want, tol, what);
  gpu.free(g);
  ref.free(r);
  for (const u of ups) {
    gpu.free(u.g.buffer);
    ref.free(u.r.buffer);
  }
}

/** fast-check settings for these suites: few, small cases (lavapipe is a CPU). */
export const RUNS = { numRuns: 20 };
