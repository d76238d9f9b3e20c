import { BINARY_OPS, UNARY_OPS, type BinaryOp, type DType, type UnaryOp } from '@tessera/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contiguousLayout, cpu, expectClose, freeAll, randomData, randomLayout, randomShape, readBuf, ref, rng, viewOn } from './helpers.js';

const FLOATS: DType[] = ['float32', 'float64'];
const PREDICATES = new Set<string>(['isnan', 'logicalNot', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr', 'logicalXor']);
/** float32 math is a polynomial (≤ 3 ulp); the rest rounds like the reference. */
const F32_MATH = new Set<string>(['exp', 'log', 'log1p', 'expm1', 'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'gelu', 'geluTanh', 'silu', 'rsqrt']);

function tolerance(op: string, dtype: DType): [number, number] {
  if (dtype === 'float32' && F32_MATH.has(op)) return [1e-6, 4e-7];
  if (dtype === 'float64' && op === 'erf') return [1e-15, 1e-15];
  if (dtype === 'float64' && (op === 'gelu')) return [1e-15, 1e-15];
  return [0, 0];
}

function domain(op: string): [number, number] {
  if (op === 'log' || op === 'rsqrt' || op === 'sqrt') return [0, 6];
  if (op === 'log1p') return [-1, 6];
  if (op === 'pow') return [0.1, 3];
  return [-6, 6];
}

function checkUnary(op: UnaryOp, dtype: DType, seed: number) {
  const r = rng(seed);
  const shape = randomShape(r, 4, 9);
  const layout = randomLayout(r, shape);
  const [lo, hi] = domain(op);
  const data = randomData(r, dtype, layout.size, lo, hi, true);
  const out: DType = PREDICATES.has(op) ? 'bool' : dtype;
  const [vc, vr] = [viewOn(cpu, data, dtype, shape, layout), viewOn(ref, data, dtype, shape, layout)];
  const [oc, or] = [cpu.unary(op, vc, out), ref.unary(op, vr, out)];
  const [atol, rtol] = tolerance(op, dtype);
  expectClose(readBuf(cpu, oc, shape, out), readBuf(ref, or, shape, out), atol, rtol, `${op} ${dtype} [${shape}] seed ${seed}`);
  freeAll(cpu, vc.buffer, oc);
}

function checkBinary(op: BinaryOp, dtype: DType, seed: number) {
  const r = rng(seed);
  const shape = randomShape(r, 4, 9);
  const [la, lb] = [randomLayout(r, shape), randomLayout(r, shape)];
  const [lo, hi] = domain(op);
  const da = randomData(r, dtype, la.size, lo, hi, op !== 'pow');
  const db = randomData(r, dtype, lb.size, op === 'pow' ? -2 : lo, op === 'pow' ? 3 : hi, op !== 'pow');
  // Make equalities happen.
  if (dtype !== 'bool') for (let i = 0; i < Math.min(da.length, db.length); i += 3) db[i] = da[i]!;
  const out: DType = PREDICATES.has(op) ? 'bool' : dtype;
  const [ac, bc] = [viewOn(cpu, da, dtype, shape, la), viewOn(cpu, db, dtype, shape, lb)];
  const [ar, br] = [viewOn(ref, da, dtype, shape, la), viewOn(ref, db, dtype, shape, lb)];
  const [oc, or] = [cpu.binary(op, ac, bc, out), ref.binary(op, ar, br, out)];
  const tol = op === 'pow' && dtype === 'float32' ? 0 : 0;
  expectClose(readBuf(cpu, oc, shape, out), readBuf(ref, or, shape, out), tol, tol, `${op} ${dtype} [${shape}] seed ${seed}`);
  freeAll(cpu, ac.buffer, bc.buffer, oc);
}

describe('cpu unary ops match the reference on random strided views', () => {
  for (const dtype of FLOATS)
    it.each(UNARY_OPS.map((op) => [op]))(`%s ${dtype}`, (op) => {
      fc.assert(fc.property(fc.integer(), (seed) => checkUnary(op as UnaryOp, dtype, seed)), { numRuns: 12 });
    });
  it.each(['neg', 'abs', 'sign', 'relu', 'logicalNot', 'isnan', 'floor', 'exp'] as const)('%s int32', (op) => {
    fc.assert(fc.property(fc.integer(), (seed) => checkUnary(op, 'int32', seed)), { numRuns: 8 });
  });
  it('logicalNot bool', () => fc.assert(fc.property(fc.integer(), (seed) => checkUnary('logicalNot', 'bool', seed)), { numRuns: 8 }));
});

describe('cpu binary ops match the reference on random strided and broadcast views', () => {
  for (const dtype of [...FLOATS, 'int32'] as DType[])
    it.each(BINARY_OPS.map((op) => [op]))(`%s ${dtype}`, (op) => {
      fc.assert(fc.property(fc.integer(), (seed) => checkBinary(op as BinaryOp, dtype, seed)), { numRuns: 10 });
    });
  it.each(['logicalAnd', 'logicalOr', 'logicalXor', 'eq', 'maximum', 'add'] as const)('%s bool', (op) => {
    fc.assert(fc.property(fc.integer(), (seed) => checkBinary(op, 'bool', seed)), { numRuns: 8 });
  });
});

describe('cpu pow with a broadcast constant exponent (float32 kernels without host calls)', () => {
  it.each([1, 2, 3, 4, -1, -2, -3, -4, 0.5, -0.5, 1.5])('x^%s rounds like the reference, signs and specials too', (e) => {
    const r = rng(Math.round(e * 8) + 100);
    const specials = [0, -0, 1, -1, 2.5, -2.5, 1e-20, -3e-30, 1e20, -1e25, 3.4e38, -3.4e38, 1e-45, -1e-45, Infinity, -Infinity, NaN];
    const wide = Array.from(randomData(r, 'float64', 600, -1, 1), (x, i) => x * 10 ** ((i % 40) - 20));
    const data = Float32Array.from([...specials, ...wide]);
    const n = data.length;
    // A strided base (every other element) and the exponent as a stride-0 view.
    const layout = { size: 2 * n, strides: [2], offset: 1 };
    const spread = new Float32Array(2 * n);
    data.forEach((x, i) => (spread[2 * i + 1] = x));
    const [vc, vr] = [viewOn(cpu, spread, 'float32', [n], layout), viewOn(ref, spread, 'float32', [n], layout)];
    const exp = { size: 1, strides: [0], offset: 0 };
    const [ec, er] = [viewOn(cpu, new Float32Array([e]), 'float32', [n], exp), viewOn(ref, new Float32Array([e]), 'float32', [n], exp)];
    const oc = cpu.binary('pow', vc, ec, 'float32');
    expect(Array.from(readBuf(cpu, oc, [n], 'float32'))).toEqual(Array.from(readBuf(ref, ref.binary('pow', vr, er, 'float32'), [n], 'float32')));
    freeAll(cpu, vc.buffer, ec.buffer, oc);
  });
});

describe('cpu where, copy, assign', () => {
  it('where matches on strided inputs', () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom<DType>('float32', 'float64', 'int32', 'bool'), (seed, dtype) => {
        const r = rng(seed);
        const shape = randomShape(r);
        const ls = [randomLayout(r, shape), randomLayout(r, shape), randomLayout(r, shape)];
        const data = [randomData(r, 'bool', ls[0]!.size), randomData(r, dtype, ls[1]!.size), randomData(r, dtype, ls[2]!.size)];
        const dts: DType[] = ['bool', dtype, dtype];
        const vc = ls.map((l, i) => viewOn(cpu, data[i]!, dts[i]!, shape, l));
        const vr = ls.map((l, i) => viewOn(ref, data[i]!, dts[i]!, shape, l));
        const oc = cpu.where(vc[0]!, vc[1]!, vc[2]!, dtype);
        const or = ref.where(vr[0]!, vr[1]!, vr[2]!, dtype);
        expectClose(readBuf(cpu, oc, shape, dtype), readBuf(ref, or, shape, dtype));
        freeAll(cpu, ...vc.map((v) => v.buffer), oc);
      }),
      { numRuns: 25 },
    );
  });

  it('copy casts between every pair of dtypes like the reference', () => {
    const dtypes: DType[] = ['bool', 'int32', 'float32', 'float64'];
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom(...dtypes), fc.constantFrom(...dtypes), (seed, from, to) => {
        const r = rng(seed);
        const shape = randomShape(r);
        const l = randomLayout(r, shape);
        const data = randomData(r, from, l.size, -3e9, 3e9, true);
        const [vc, vr] = [viewOn(cpu, data, from, shape, l), viewOn(ref, data, from, shape, l)];
        const [oc, or] = [cpu.copy(vc, to), ref.copy(vr, to)];
        expectClose(readBuf(cpu, oc, shape, to), readBuf(ref, or, shape, to));
        freeAll(cpu, vc.buffer, oc);
      }),
      { numRuns: 40 },
    );
  });

  it('materializing transposed and permuted views (tiled transpose path) for every element size', () => {
    for (const dtype of ['float32', 'int32', 'float64', 'bool'] as DType[])
      for (const shape of [[4, 4], [5, 37], [33, 17], [3, 20, 9], [2, 3, 18, 7]]) {
        const r = rng(shape.length * 100 + shape[0]!);
        const n = shape.reduce((a, b) => a * b, 1);
        const data = randomData(r, dtype, n);
        // Swap the last two dims of a contiguous tensor of the swapped shape.
        const nd = shape.length;
        const src = [...shape];
        [src[nd - 1], src[nd - 2]] = [src[nd - 2]!, src[nd - 1]!];
        const cs = contiguousLayout(src).strides;
        const strides = [...cs];
        [strides[nd - 1], strides[nd - 2]] = [strides[nd - 2]!, strides[nd - 1]!];
        const l = { size: n, strides, offset: 0 };
        const [vc, vr] = [viewOn(cpu, data, dtype, shape, l), viewOn(ref, data, dtype, shape, l)];
        const oc = cpu.copy(vc, dtype);
        expectClose(readBuf(cpu, oc, shape, dtype), readBuf(ref, ref.copy(vr, dtype), shape, dtype), 0, 0, `${dtype} [${shape}]`);
        freeAll(cpu, vc.buffer, oc);
      }
  });

  it('assign writes through strided destinations, also when src overlaps dst', () => {
    fc.assert(
      fc.property(fc.integer(), fc.boolean(), (seed, overlap) => {
        const r = rng(seed);
        const shape = randomShape(r, 3, 7);
        const ld = randomLayout(r, shape, false);
        const dd = randomData(r, 'float32', ld.size);
        const vc = viewOn(cpu, dd, 'float32', shape, ld);
        const vr = viewOn(ref, dd, 'float32', shape, ld);
        const ls = overlap ? { ...ld, strides: [...ld.strides].reverse(), offset: ld.offset } : randomLayout(r, shape);
        if (overlap && shape.some((s, i) => s !== shape[shape.length - 1 - i])) return;
        const ds = randomData(r, 'float32', ls.size);
        const sc = overlap ? { ...vc, strides: ls.strides } : viewOn(cpu, ds, 'float32', shape, ls);
        const sr = overlap ? { ...vr, strides: ls.strides } : viewOn(ref, ds, 'float32', shape, ls);
        cpu.assign(vc, sc);
        ref.assign(vr, sr);
        const whole = contiguousLayout([ld.size]);
        expectClose(cpu.readSync({ ...vc, shape: [ld.size], strides: whole.strides, offset: 0 }), ref.readSync({ ...vr, shape: [ld.size], strides: whole.strides, offset: 0 }));
        freeAll(cpu, vc.buffer, ...(overlap ? [] : [sc.buffer]));
      }),
      { numRuns: 30 },
    );
  });

  it('where on long runs (vector mask path) with contiguous and broadcast conditions', () => {
    for (const n of [3, 8, 13, 1001])
      for (const dtype of ['float32', 'float64'] as DType[]) {
        const r = rng(n);
        const [c, a, b] = [randomData(r, 'bool', n), randomData(r, dtype, n), randomData(r, dtype, n)];
        const l = contiguousLayout([n]);
        for (const bcast of [false, true]) {
          const lc = bcast ? { size: 1, strides: [0], offset: 0 } : l;
          const vc = [viewOn(cpu, c, 'bool', [n], lc), viewOn(cpu, a, dtype, [n], l), viewOn(cpu, b, dtype, [n], l)];
          const vr = [viewOn(ref, c, 'bool', [n], lc), viewOn(ref, a, dtype, [n], l), viewOn(ref, b, dtype, [n], l)];
          const oc = cpu.where(vc[0]!, vc[1]!, vc[2]!, dtype);
          expectClose(readBuf(cpu, oc, [n], dtype), readBuf(ref, ref.where(vr[0]!, vr[1]!, vr[2]!, dtype), [n], dtype));
          freeAll(cpu, ...vc.map((v) => v.buffer), oc);
        }
      }
  });

  it('long contiguous and broadcast runs take the SIMD path and agree with the scalar tail', () => {
    for (const n of [1, 3, 4, 7, 8, 9, 16, 17, 1000, 1003]) {
      const r = rng(n);
      const a = randomData(r, 'float32', n);
      const va = viewOn(cpu, a, 'float32', [n], contiguousLayout([n]));
      const vs = viewOn(cpu, new Float32Array([2.5]), 'float32', [n], { size: 1, strides: [0], offset: 0 });
      const o = cpu.binary('mul', va, vs, 'float32');
      const got = readBuf(cpu, o, [n], 'float32');
      expect(Array.from(got)).toEqual(Array.from(a, (x) => Math.fround(x * 2.5)));
      freeAll(cpu, va.buffer, vs.buffer, o);
    }
  });
});
