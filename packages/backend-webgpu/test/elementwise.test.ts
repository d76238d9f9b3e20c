/** Elementwise primitives on random strided inputs, against the reference backend. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BINARY_OPS, DTypeError, UNARY_OPS, type BinaryOp, type DType, type UnaryOp } from '@tessera/core';
import { compareOp, expectNear, gpu, intValues, readBuf, ref, RUNS, shapeArb, upload, viewArb, viewOfShapeArb } from './helpers.js';

const COMPARISONS: BinaryOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr', 'logicalXor'];
/** Transcendental float32 math differs from the float64 reference by a few ulps. */
const MATH_TOL = { atol: 2e-6, rtol: 2e-5 };

describe('copy and assign', () => {
  it('copies strided views with every cast between float32, int32 and bool', async () => {
    const dtypes: DType[] = ['float32', 'int32', 'bool'];
    const arb = fc.tuple(fc.constantFrom(...dtypes), fc.constantFrom(...dtypes)).chain(([from, to]) =>
      viewArb({ dtype: from, specials: true, values: from === 'float32' ? fc.float({ min: -1e3, max: 1e3 }) : undefined }).map((v) => [v, to] as const),
    );
    await fc.assert(fc.asyncProperty(arb, ([v, to]) => compareOp((b, [x]) => b.copy(x!, to), [v], v.shape, {}, `copy ${v.dtype}→${to}`)), RUNS);
  });

  it('assigns into strided destinations, including from the same buffer', async () => {
    const arb = shapeArb({ minDims: 1 }).chain((shape) => fc.tuple(viewOfShapeArb(shape, { broadcast: false }), viewOfShapeArb(shape)));
    await fc.assert(
      fc.asyncProperty(arb, async ([dst, src]) => {
        const d = upload(dst);
        const s = upload(src);
        gpu.assign(d.g, s.g);
        ref.assign(d.r, s.r);
        const all = (v: typeof d.g) => ({ ...v, shape: [v.buffer.size], strides: [1], offset: 0 });
        expectNear(await gpu.read(all(d.g)), await ref.read(all(d.r)), {}, 'assigned buffer');
        // Overlapping source in the destination's own buffer (a flipped view of itself) behaves like a copy.
        const flipped = { ...d.g, strides: d.g.strides.map((x) => -x), offset: d.g.offset + d.g.shape.reduce((a, n, k) => a + (n - 1) * d.g.strides[k]!, 0) };
        const flippedR = { ...flipped, buffer: d.r.buffer };
        gpu.assign(d.g, flipped);
        ref.assign(d.r, flippedR);
        expectNear(await gpu.read(all(d.g)), await ref.read(all(d.r)), {}, 'self-assigned buffer');
      }),
      RUNS,
    );
  });
});

describe('unary', () => {
  it.each(UNARY_OPS.map((op) => [op]))('%s on float32', async (op: UnaryOp) => {
    const outDtype: DType = op === 'isnan' || op === 'logicalNot' ? 'bool' : 'float32';
    await fc.assert(
      fc.asyncProperty(viewArb({ specials: true }), (v) => compareOp((b, [x]) => b.unary(op, x!, outDtype), [v], v.shape, MATH_TOL, op)),
      { numRuns: 8 },
    );
  });

  it.each((['neg', 'abs', 'sign', 'relu', 'floor', 'ceil', 'round', 'logicalNot', 'isnan'] as UnaryOp[]).map((op) => [op]))('%s on int32', async (op: UnaryOp) => {
    const outDtype: DType = op === 'isnan' || op === 'logicalNot' ? 'bool' : 'int32';
    await fc.assert(fc.asyncProperty(viewArb({ dtype: 'int32' }), (v) => compareOp((b, [x]) => b.unary(op, x!, outDtype), [v], v.shape, {}, op)), { numRuns: 5 });
  });
});

describe('binary', () => {
  const pairArb = (dtype: DType, values?: fc.Arbitrary<number>) =>
    shapeArb().chain((shape) => fc.tuple(viewOfShapeArb(shape, { dtype, specials: true, values }), viewOfShapeArb(shape, { dtype, specials: true, values })));

  it.each(BINARY_OPS.map((op) => [op]))('%s on float32 (broadcast and strided operands)', async (op: BinaryOp) => {
    const outDtype: DType = COMPARISONS.includes(op) ? 'bool' : 'float32';
    await fc.assert(fc.asyncProperty(pairArb('float32'), ([a, c]) => compareOp((b, [x, y]) => b.binary(op, x!, y!, outDtype), [a, c], a.shape, MATH_TOL, op)), { numRuns: 8 });
  });

  it.each(BINARY_OPS.map((op) => [op]))('%s on int32', async (op: BinaryOp) => {
    const outDtype: DType = COMPARISONS.includes(op) ? 'bool' : op === 'div' ? 'float32' : 'int32';
    const values = op === 'pow' ? intValues(-3, 6) : undefined;
    await fc.assert(fc.asyncProperty(pairArb('int32', values), ([a, c]) => compareOp((b, [x, y]) => b.binary(op, x!, y!, outDtype), [a, c], a.shape, {}, op)), { numRuns: 5 });
  });

  it('wraps int32 arithmetic like the reference', async () => {
    const big = { data: [2 ** 31 - 1, -(2 ** 31), 65536, 7], shape: [4], strides: [1], offset: 0, dtype: 'int32' as const };
    for (const op of ['add', 'sub', 'mul', 'pow'] as BinaryOp[])
      await compareOp((b, [x, y]) => b.binary(op, x!, y!, 'int32'), [big, { ...big, data: [1, 1, 65536, 3] }], [4], {}, op);
  });

  it('pow follows JavaScript for negative bases, zero and infinities', async () => {
    const a = [-2, -2, -0, 0, -8, Infinity, -Infinity, 1, -1, NaN, 2, 0.5];
    const e = [3, 0.5, -3, -1, 1 / 3, -2, 3, Infinity, Infinity, 0, 10.5, -Infinity];
    const v = (data: number[]) => ({ data, shape: [data.length], strides: [1], offset: 0, dtype: 'float32' as const });
    await compareOp((b, [x, y]) => b.binary('pow', x!, y!, 'float32'), [v(a), v(e)], [a.length], MATH_TOL, 'pow');
  });
});

describe('where, fill, random', () => {
  it('where selects through three strided views', async () => {
    const arb = shapeArb().chain((shape) =>
      fc.tuple(viewOfShapeArb(shape, { dtype: 'bool' }), viewOfShapeArb(shape, { dtype: 'int32' }), viewOfShapeArb(shape, { dtype: 'int32' })),
    );
    await fc.assert(fc.asyncProperty(arb, ([c, a, d]) => compareOp((b, [x, y, z]) => b.where(x!, y!, z!, 'int32'), [c, a, d], c.shape)), RUNS);
  });

  it('fill writes the value converted to the dtype', async () => {
    for (const [value, dtype] of [[1.5, 'float32'], [-7.9, 'int32'], [2, 'bool'], [NaN, 'float32'], [0, 'bool']] as const) {
      const g = gpu.fill(5, value, dtype);
      const r = ref.fill(5, value, dtype);
      expectNear(await readBuf(gpu, g, [5]), await readBuf(ref, r, [5]), {}, `fill ${value} ${dtype}`);
      gpu.free(g);
      ref.free(r);
    }
  });

  it('random reproduces core counter-based uniform and normal numbers', async () => {
    for (const kind of ['uniform', 'normal'] as const) {
      for (const [key, start] of [[0, 0], [0xdeadbeef, 2 ** 32 - 64], [12345, 77]]) {
        const g = gpu.random(100, kind, key!, start!, 'float32');
        const r = ref.random(100, kind, key!, start!, 'float32');
        // Uniform is exact (24 bits); Box–Muller in float32 differs by a few ulps.
        expectNear(await readBuf(gpu, g, [100]), await readBuf(ref, r, [100]), kind === 'uniform' ? { atol: 0, rtol: 0 } : { atol: 1e-5, rtol: 1e-5 }, kind);
        gpu.free(g);
        ref.free(r);
      }
    }
  });
});

describe('dtypes', () => {
  it('float64 is rejected with a DTypeError naming the backend', () => {
    expect(() => gpu.upload(new Float64Array([1]), 'float64')).toThrow(DTypeError);
    expect(() => gpu.upload(new Float64Array([1]), 'float64')).toThrow(/webgpu.*float64/);
    expect(() => gpu.fill(2, 0, 'float64')).toThrow(DTypeError);
  });

  it('bool is stored as one u32 per element and reads back as 0/1 bytes', async () => {
    const b = gpu.upload(Uint8Array.from([0, 1, 7, 0]), 'bool');
    const got = await readBuf(gpu, b, [4]);
    expect(got).toBeInstanceOf(Uint8Array);
    expect(Array.from(got)).toEqual([0, 1, 1, 0]);
    gpu.free(b);
  });
});
