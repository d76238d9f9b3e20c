/** Reductions, matmul, gather/scatter, cumsum and sort on random strided inputs, against the reference backend. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArgumentError, type DType, type ReduceOp } from '@tessera/core';
import { WebGPUBackend } from '@tessera/backend-webgpu';
import { compareOp, expectNear, gpu, intValues, readBuf, ref, RUNS, shapeArb, upload, viewOfShapeArb, type HostView } from './helpers.js';

const drop = (shape: number[], axes: number[]) => shape.filter((_, d) => !axes.includes(d));
/** A random sorted, unique subset of a shape's axes. */
const axesArb = (nd: number) => fc.subarray([...Array(nd).keys()]).map((a) => a.sort((x, y) => x - y));

describe('reduce', () => {
  const ops: ReduceOp[] = ['sum', 'prod', 'max', 'min', 'argmax', 'argmin'];
  it.each(ops.flatMap((op) => (['float32', 'int32'] as DType[]).map((dt) => [op, dt] as const)))('%s on %s over random axes', async (op, dtype) => {
    // Small and repeated values make ties (first occurrence must win) and keep products finite.
    const values = dtype === 'int32' ? intValues(-3, 3) : fc.constantFrom(-1.5, -1, -0.5, 0, 0.5, 1, 2, NaN, Infinity);
    const arb = shapeArb({ maxDims: 3, maxSide: 5 }).chain((shape) =>
      fc.tuple(viewOfShapeArb(shape, { dtype, values: op === 'sum' && dtype === 'float32' ? undefined : values }), axesArb(shape.length)),
    );
    const outDtype: DType = op.startsWith('arg') ? 'int32' : dtype;
    await fc.assert(
      fc.asyncProperty(arb, ([v, axes]) =>
        compareOp((b, [x]) => b.reduce(op, x!, axes, outDtype), [v], drop(v.shape, axes), { atol: 1e-5, rtol: 1e-5 }, `${op} over [${axes}]`),
      ),
      { numRuns: 10 },
    );
  });

  it('uses the workgroup tree for long reductions (and NaN propagates through it)', async () => {
    const n = 1000;
    const data = Array.from({ length: n * 3 }, (_, i) => Math.sin(i) * 3);
    data[1234] = NaN;
    const v: HostView = { data, shape: [3, n], strides: [n, 1], offset: 0, dtype: 'float32' };
    for (const op of ['sum', 'max', 'argmin', 'argmax'] as ReduceOp[])
      await compareOp((b, [x]) => b.reduce(op, x!, [1], op.startsWith('arg') ? 'int32' : 'float32'), [v], [3], { atol: 1e-4, rtol: 1e-5 }, op);
    const t: HostView = { ...v, shape: [n, 3], strides: [1, n] };
    await compareOp((b, [x]) => b.reduce('sum', x!, [0], 'float32'), [t], [3], { atol: 1e-4, rtol: 1e-5 }, 'sum of transposed');
  });

  it('sum of bool counts into int32; max over an empty axis is an ArgumentError', async () => {
    const v: HostView = { data: [1, 0, 1, 1, 1, 0], shape: [2, 3], strides: [3, 1], offset: 0, dtype: 'bool' };
    await compareOp((b, [x]) => b.reduce('sum', x!, [0, 1], 'int32'), [v], []);
    const { g } = upload({ data: [], shape: [2, 0], strides: [0, 1], offset: 0, dtype: 'float32' });
    expect(() => gpu.reduce('max', g, [1], 'float32')).toThrow(ArgumentError);
  });
});

describe('matmul', () => {
  it('batched, transposed, broadcast-batch operands of random sizes', async () => {
    const arb = fc
      .record({ batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), M: fc.integer({ min: 1, max: 9 }), K: fc.integer({ min: 0, max: 9 }), N: fc.integer({ min: 1, max: 9 }) })
      .chain(({ batch, M, K, N }) => fc.tuple(viewOfShapeArb([...batch, M, K]), viewOfShapeArb([...batch, K, N]), fc.constant([...batch, M, N])));
    await fc.assert(fc.asyncProperty(arb, ([a, c, out]) => compareOp((b, [x, y]) => b.matmul(x!, y!, 'float32'), [a, c], out, { atol: 1e-5, rtol: 1e-5 })), RUNS);
  });

  // The GPU kernels: 64×64 tiles ('tiled') and 128×128 tiles with 8×8 per thread ('large'), across their tile edges.
  it.each([['tiled', 70], ['large', 260]] as const)('the %s kernel (used on GPUs) agrees too, across tile edges', async (kind, side) => {
    const tiled = new WebGPUBackend(gpu.device, { name: `webgpu-${kind}`, matmul: kind });
    const arb = fc
      .record({ batch: fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 1 }), M: fc.integer({ min: 1, max: side }), K: fc.integer({ min: 0, max: 40 }), N: fc.integer({ min: 1, max: side }) })
      .chain(({ batch, M, K, N }) => fc.tuple(viewOfShapeArb([...batch, M, K], { broadcast: false }), viewOfShapeArb([...batch, K, N]), fc.constant([...batch, M, N])));
    await fc.assert(
      fc.asyncProperty(arb, async ([a, c, out]) => {
        const [ua, uc] = [upload(a), upload(c)];
        const ta = { ...ua.g, buffer: tiled.upload(Float32Array.from(a.data), 'float32') };
        const tc = { ...uc.g, buffer: tiled.upload(Float32Array.from(c.data), 'float32') };
        const got = tiled.matmul(ta, tc, 'float32');
        const want = ref.matmul(ua.r, uc.r, 'float32');
        expectNear(await readBuf(tiled, got, out), await readBuf(ref, want, out), { atol: 1e-4, rtol: 1e-5 }, `${kind} matmul`);
        for (const [b, x] of [[tiled, got], [tiled, ta.buffer], [tiled, tc.buffer], [gpu, ua.g.buffer], [gpu, uc.g.buffer], [ref, want], [ref, ua.r.buffer], [ref, uc.r.buffer]] as const) b.free(x);
      }),
      { numRuns: 8 },
    );
  });

  it("'auto' splits a deep product with few output tiles over K (a weight gradient), with the same result", async () => {
    const auto = new WebGPUBackend(gpu.device, { name: 'webgpu-auto-split', matmul: 'auto' });
    const arb = fc
      .record({ M: fc.integer({ min: 1, max: 140 }), K: fc.constantFrom(128, 192, 256, 1024), N: fc.integer({ min: 1, max: 70 }) })
      .chain(({ M, K, N }) => fc.tuple(viewOfShapeArb([M, K], { broadcast: false }), viewOfShapeArb([K, N]), fc.constant([M, N])));
    await fc.assert(
      fc.asyncProperty(arb, async ([a, c, out]) => {
        const [ua, uc] = [upload(a), upload(c)];
        const ta = { ...ua.g, buffer: auto.upload(Float32Array.from(a.data), 'float32') };
        const tc = { ...uc.g, buffer: auto.upload(Float32Array.from(c.data), 'float32') };
        const before = auto.rt.dispatches;
        const got = auto.matmul(ta, tc, 'float32');
        // Split products take two dispatches (the sliced product and the sum over slices).
        expect(auto.rt.dispatches - before).toBe(2);
        const want = ref.matmul(ua.r, uc.r, 'float32');
        expectNear(await readBuf(auto, got, out), await readBuf(ref, want, out), { atol: 1e-3, rtol: 1e-5 }, 'split-K matmul');
        for (const [b, x] of [[auto, got], [auto, ta.buffer], [auto, tc.buffer], [gpu, ua.g.buffer], [gpu, uc.g.buffer], [ref, want], [ref, ua.r.buffer], [ref, uc.r.buffer]] as const) b.free(x);
      }),
      { numRuns: 8 },
    );
  });

  // Whole 128×128 tiles with aligned rows take the large kernel's vec4 loads; operands stored either way round.
  it.each([
    ['row-major A and B', false, false],
    ['transposed A', true, false],
    ['transposed B', false, true],
  ] as const)('the large kernel on whole aligned tiles: %s', async (_name, transA, transB) => {
    const large = new WebGPUBackend(gpu.device, { name: 'webgpu-large-aligned', matmul: 'large' });
    const [M, K, N] = [256, 48, 260];
    const mk = (rows: number, cols: number, trans: boolean, seed: number): HostView => {
      const data = Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37 + seed));
      return trans ? { data, shape: [rows, cols], strides: [1, rows], offset: 0, dtype: 'float32' } : { data, shape: [rows, cols], strides: [cols, 1], offset: 0, dtype: 'float32' };
    };
    const [a, c] = [mk(M, K, transA, 1), mk(K, N, transB, 2)];
    const [ua, uc] = [upload(a), upload(c)];
    const ta = { ...ua.g, buffer: large.upload(Float32Array.from(a.data), 'float32') };
    const tc = { ...uc.g, buffer: large.upload(Float32Array.from(c.data), 'float32') };
    const got = large.matmul(ta, tc, 'float32');
    const want = ref.matmul(ua.r, uc.r, 'float32');
    expectNear(await readBuf(large, got, [M, N]), await readBuf(ref, want, [M, N]), { atol: 1e-4, rtol: 1e-5 }, 'large matmul');
  });

  it('the large kernel over more than 8 tile rows, with a partial last tile', async () => {
    const large = new WebGPUBackend(gpu.device, { name: 'webgpu-large-bands', matmul: 'large' });
    const [M, K, N] = [128 * 9 + 5, 20, 300];
    const mk = (rows: number, cols: number, seed: number): HostView => ({
      data: Array.from({ length: rows * cols }, (_, i) => Math.cos(i * 0.11 + seed)),
      shape: [rows, cols],
      strides: [cols, 1],
      offset: 0,
      dtype: 'float32',
    });
    const [ua, uc] = [upload(mk(M, K, 1)), upload(mk(K, N, 2))];
    const got = large.matmul({ ...ua.g, buffer: large.upload(Float32Array.from(mk(M, K, 1).data), 'float32') }, { ...uc.g, buffer: large.upload(Float32Array.from(mk(K, N, 2).data), 'float32') }, 'float32');
    expectNear(await readBuf(large, got, [M, N]), await readBuf(ref, ref.matmul(ua.r, uc.r, 'float32'), [M, N]), { atol: 1e-4, rtol: 1e-5 }, 'large matmul');
  });

  it('larger than one workgroup tile, and int32 operands', async () => {
    const mk = (shape: number[], dtype: DType = 'float32'): HostView => ({
      data: Array.from({ length: shape[0]! * shape[1]! }, (_, i) => (dtype === 'int32' ? (i % 7) - 3 : Math.cos(i))),
      shape,
      strides: [shape[1]!, 1],
      offset: 0,
      dtype,
    });
    await compareOp((b, [x, y]) => b.matmul(x!, y!, 'float32'), [mk([70, 45]), mk([45, 67])], [70, 67], { atol: 1e-4, rtol: 1e-5 });
    await compareOp((b, [x, y]) => b.matmul(x!, y!, 'int32'), [mk([5, 6], 'int32'), mk([6, 4], 'int32')], [5, 4]);
  });
});

describe('gather and scatter', () => {
  /** x of some shape, a dim, and an index view whose shape fits x on the other dims. */
  const caseArb = shapeArb({ minDims: 1, maxDims: 3 }).chain((shape) =>
    fc.nat(shape.length - 1).chain((dim) => {
      const size = shape[dim]!;
      const ishape = shape.map((s, d) => (d === dim ? 3 : s));
      return fc.tuple(viewOfShapeArb(shape), fc.constant(dim), viewOfShapeArb(ishape, { dtype: 'int32', values: fc.integer({ min: 0, max: size - 1 }) }), viewOfShapeArb(ishape));
    }),
  );

  it('gather follows the index along dim', async () => {
    await fc.assert(fc.asyncProperty(caseArb, ([x, dim, idx]) => compareOp((b, [v, i]) => b.gather(v!, dim, i!), [x, idx], idx.shape)), RUNS);
  });

  it('scatter add accumulates duplicates; scatter set writes unique positions', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ([x, dim, idx, src]) => {
        await compareOp((b, [v, i, s]) => b.scatter('add', v!, dim, i!, s!), [x, idx, src], x.shape, { atol: 1e-5, rtol: 1e-5 }, 'scatterAdd');
        // For 'set', one index row along dim (a permutation prefix) so no position is written twice.
        const uniq: HostView = { ...idx, data: idx.data.map(() => 0), shape: idx.shape.map((s, d) => (d === dim ? 1 : s)) };
        await compareOp((b, [v, i, s]) => b.scatter('set', v!, dim, i!, s!), [x, uniq, src], x.shape, {}, 'scatter');
      }),
      RUNS,
    );
  });

  it('an out-of-range index known on the host throws at once; one computed on the GPU rejects the read', async () => {
    const { g: x } = upload({ data: [1, 2], shape: [2], strides: [1], offset: 0, dtype: 'float32' });
    const { g: bad } = upload({ data: [5], shape: [1], strides: [1], offset: 0, dtype: 'int32' });
    expect(() => gpu.gather(x, 0, bad)).toThrow(/gather: index 5 is out of bounds for dimension of size 2/);
    const { g: negative } = upload({ data: [-1], shape: [1], strides: [1], offset: 0, dtype: 'int32' });
    expect(() => gpu.scatter('add', x, 0, negative, x)).toThrow(/scatterAdd: index -1 is out of bounds/);
    // Small int results computed from host-known ints are mirrored on the host, so they are checked at once too.
    expect(() => gpu.gather(x, 0, { ...bad, buffer: gpu.binary('add', bad, bad, 'int32') })).toThrow(/index 10 is out of bounds/);
    // An index converted from floats on the GPU has no host copy: the kernel flags it and read() rejects.
    const computed = gpu.copy({ ...x, shape: [1] }, 'int32');
    const idx = { ...bad, buffer: gpu.binary('add', { ...bad, buffer: computed }, bad, 'int32') };
    const out = gpu.gather(x, 0, idx);
    await expect(readBuf(gpu, out, [1])).rejects.toThrow(ArgumentError);
    // The flag is cleared by that read: later reads succeed.
    expect(Array.from(await readBuf(gpu, x.buffer, [2]))).toEqual([1, 2]);
  });
});

describe('cumsum and sort', () => {
  it('cumsum along any dim, casting int and bool to int32', async () => {
    const arb = fc.constantFrom<DType>('float32', 'int32', 'bool').chain((dtype) =>
      shapeArb({ minDims: 1 }).chain((shape) => fc.tuple(viewOfShapeArb(shape, { dtype }), fc.nat(shape.length - 1))),
    );
    await fc.assert(
      fc.asyncProperty(arb, ([v, dim]) => compareOp((b, [x]) => b.cumsum(x!, dim, v.dtype === 'float32' ? 'float32' : 'int32'), [v], v.shape, { atol: 1e-5, rtol: 1e-5 })),
      RUNS,
    );
  });

  it('stable sort with NaN last (first when descending), values and indices', async () => {
    const arb = fc.tuple(
      fc.constantFrom<DType>('float32', 'int32'),
      fc.boolean(),
      shapeArb({ maxDims: 3, maxSide: 6 }),
    ).chain(([dtype, desc, shape]) =>
      viewOfShapeArb(shape, { dtype, values: dtype === 'int32' ? intValues(-3, 3) : fc.constantFrom(-1, 0, -0, 2, 2.5, NaN, Infinity, -Infinity) }).map((v) => [v, desc] as const),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ([v, desc]) => {
        await compareOp((b, [x]) => b.sort(x!, desc).values, [v], v.shape, {}, 'values');
        await compareOp((b, [x]) => b.sort(x!, desc).indices, [v], v.shape, {}, 'indices');
      }),
      RUNS,
    );
  });
});

it('memory() counts live buffers; free returns them', async () => {
  const before = gpu.memory();
  const bufs = [gpu.fill(10, 1, 'float32'), gpu.fill(1000, 1, 'int32'), gpu.upload(Uint8Array.from([1, 0]), 'bool')];
  const mid = gpu.memory();
  expect(mid.buffers).toBe(before.buffers + 3);
  expect(mid.bytes).toBeGreaterThanOrEqual(before.bytes + 4 * 1012);
  for (const b of bufs) gpu.free(b);
  expect(gpu.memory()).toEqual(before);
  expectNear([1], [1]);
  void ref;
});
