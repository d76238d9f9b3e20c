import type { DType } from '@tessera/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contiguousLayout, cpu, expectClose, freeAll, randInt, randomData, randomLayout, randomShape, readBuf, ref, rng, viewOn } from './helpers.js';

const DTYPES: DType[] = ['float32', 'float64', 'int32', 'bool'];

function indexData(r: () => number, n: number, size: number): Int32Array {
  return Int32Array.from({ length: n }, () => randInt(r, 0, size - 1));
}

describe('cpu gather / scatter / cumsum / sort / random match the reference', () => {
  it('gather on strided inputs and indices', () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom(...DTYPES), (seed, dtype) => {
        const r = rng(seed);
        const shape = randomShape(r, 3, 6);
        if (shape.length === 0) shape.push(4);
        const dim = randInt(r, 0, shape.length - 1);
        const ishape = shape.map((s, d) => (d === dim ? randInt(r, 1, 7) : randInt(r, 1, s)));
        const lx = randomLayout(r, shape);
        const li = randomLayout(r, ishape);
        const xd = randomData(r, dtype, lx.size);
        const id = indexData(r, li.size, shape[dim]!);
        const [xc, ic] = [viewOn(cpu, xd, dtype, shape, lx), viewOn(cpu, id, 'int32', ishape, li)];
        const [xr, ir] = [viewOn(ref, xd, dtype, shape, lx), viewOn(ref, id, 'int32', ishape, li)];
        const [oc, or] = [cpu.gather(xc, dim, ic), ref.gather(xr, dim, ir)];
        expectClose(readBuf(cpu, oc, ishape, dtype), readBuf(ref, or, ishape, dtype));
        freeAll(cpu, xc.buffer, ic.buffer, oc);
      }),
      { numRuns: 40 },
    );
  });

  it('scatter set and add (with repeated indices)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom(...DTYPES), fc.constantFrom<'set' | 'add'>('set', 'add'), (seed, dtype, mode) => {
        const r = rng(seed);
        const shape = randomShape(r, 3, 5);
        if (shape.length === 0) shape.push(4);
        const dim = randInt(r, 0, shape.length - 1);
        const ishape = shape.map((s, d) => (d === dim ? randInt(r, 1, 8) : randInt(r, 1, s)));
        const [lb, li, ls] = [randomLayout(r, shape), randomLayout(r, ishape, false), randomLayout(r, ishape)];
        const bd = randomData(r, dtype, lb.size);
        // 'set' with repeated indices is order-dependent; keep indices distinct there.
        const id = mode === 'add' ? indexData(r, li.size, shape[dim]!) : new Int32Array(li.size);
        if (mode === 'set') {
          const perm = Array.from({ length: shape[dim]! }, (_, i) => i).sort(() => r() - 0.5);
          if (ishape[dim]! > shape[dim]!) return;
          // Same index for every position of a line along dim is fine as long as lines use distinct values.
          for (let i = 0; i < li.size; i++) id[i] = perm[i % shape[dim]!]!;
          const strides = li.strides;
          if (strides[dim] === 0) return;
          // Rebuild so each line along dim holds distinct indices: write perm by dim coordinate.
          const idx = new Int32Array(li.size);
          const walk = (d: number, off: number, coord: number) => {
            if (d === ishape.length) return void (idx[off] = perm[coord]!);
            for (let k = 0; k < ishape[d]!; k++) walk(d + 1, off + k * strides[d]!, d === dim ? k : coord);
          };
          walk(0, li.offset, 0);
          id.set(idx);
        }
        const sd = randomData(r, dtype, ls.size);
        const c = [viewOn(cpu, bd, dtype, shape, lb), viewOn(cpu, id, 'int32', ishape, li), viewOn(cpu, sd, dtype, ishape, ls)] as const;
        const f = [viewOn(ref, bd, dtype, shape, lb), viewOn(ref, id, 'int32', ishape, li), viewOn(ref, sd, dtype, ishape, ls)] as const;
        const [oc, or] = [cpu.scatter(mode, c[0], dim, c[1], c[2]), ref.scatter(mode, f[0], dim, f[1], f[2])];
        expectClose(readBuf(cpu, oc, shape, dtype), readBuf(ref, or, shape, dtype), 0, dtype === 'float32' ? 1e-6 : 1e-12);
        freeAll(cpu, ...c.map((v) => v.buffer), oc);
      }),
      { numRuns: 40 },
    );
  });

  it('out-of-range indices throw the reference error and leak nothing', () => {
    const before = cpu.memory();
    const x = viewOn(cpu, new Float32Array([1, 2, 3]), 'float32', [3], contiguousLayout([3]));
    const i = viewOn(cpu, new Int32Array([0, 3]), 'int32', [2], contiguousLayout([2]));
    const neg = viewOn(cpu, new Int32Array([-1, 0]), 'int32', [2], contiguousLayout([2]));
    expect(() => cpu.gather(x, 0, i)).toThrow('gather: index 3 is out of bounds for dimension of size 3');
    expect(() => cpu.gather(x, 0, neg)).toThrow('gather: index -1 is out of bounds for dimension of size 3');
    expect(() => cpu.scatter('add', x, 0, i, x)).toThrow('scatterAdd: index 3 is out of bounds for dimension of size 3');
    freeAll(cpu, x.buffer, i.buffer, neg.buffer);
    expect(cpu.memory()).toEqual(before);
  });

  it('cumsum along every dim, with casts', () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom<[DType, DType]>(['float32', 'float32'], ['float64', 'float64'], ['int32', 'int32'], ['bool', 'int32']), (seed, [dt, out]) => {
        const r = rng(seed);
        const shape = randomShape(r, 4, 7);
        if (shape.length === 0) shape.push(5);
        const dim = randInt(r, 0, shape.length - 1);
        const l = randomLayout(r, shape);
        const d = randomData(r, dt, l.size);
        const [vc, vr] = [viewOn(cpu, d, dt, shape, l), viewOn(ref, d, dt, shape, l)];
        const [oc, or] = [cpu.cumsum(vc, dim, out), ref.cumsum(vr, dim, out)];
        expectClose(readBuf(cpu, oc, shape, out), readBuf(ref, or, shape, out));
        freeAll(cpu, vc.buffer, oc);
      }),
      { numRuns: 30 },
    );
  });

  it('sort is stable, puts NaN last (first when descending), and matches the reference', () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom<DType>('float32', 'float64', 'int32'), fc.boolean(), (seed, dtype, desc) => {
        const r = rng(seed);
        const shape = randomShape(r, 3, 8);
        const l = randomLayout(r, shape);
        const d = randomData(r, dtype, l.size, -3, 3, true);
        if (dtype !== 'int32') for (let i = 0; i < d.length; i += 4) d[i] = Math.round(d[i]!);
        const [vc, vr] = [viewOn(cpu, d, dtype, shape, l), viewOn(ref, d, dtype, shape, l)];
        const [sc, sr] = [cpu.sort(vc, desc), ref.sort(vr, desc)];
        expectClose(readBuf(cpu, sc.values, shape, dtype), readBuf(ref, sr.values, shape, dtype));
        expectClose(readBuf(cpu, sc.indices, shape, 'int32'), readBuf(ref, sr.indices, shape, 'int32'));
        freeAll(cpu, vc.buffer, sc.values, sc.indices);
      }),
      { numRuns: 30 },
    );
  });

  it('random: the same (key, counter) gives the reference numbers bit for bit', () => {
    for (const kind of ['uniform', 'normal'] as const)
      for (const dtype of ['float32', 'float64', 'int32'] as DType[])
        for (const [size, key, start] of [[1, 1, 0], [7, 123456789, 10], [1001, -5, 4294967290], [70001, 42, 2]]) {
          const [oc, or] = [cpu.random(size!, kind, key!, start!, dtype), ref.random(size!, kind, key!, start!, dtype)];
          expectClose(readBuf(cpu, oc, [size!], dtype), readBuf(ref, or, [size!], dtype), 0, 0, `${kind} ${dtype} ${size}`);
          cpu.free(oc);
        }
  });
});
