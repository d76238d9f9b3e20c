import { describe, expect, it } from 'vitest';
import { Heap, sizeClass } from '../src/heap.js';
import { cpu, rng } from './helpers.js';

describe('heap allocator', () => {
  it('size classes cover the request with at most 25% (or one cache line) of slack', () => {
    let prev = 0;
    for (let b = 1; b < 1 << 22; b = Math.ceil(b * 1.07) + 1) {
      const c = sizeClass(b);
      expect(c).toBeGreaterThanOrEqual(b);
      expect(c).toBeLessThanOrEqual(Math.max(64, b * 1.25 + 64));
      expect(c % 64).toBe(0);
      expect(c).toBeGreaterThanOrEqual(prev);
      prev = c;
    }
  });

  it('hands out aligned, disjoint blocks, reuses freed ones and grows the memory', () => {
    const heap = new Heap(2);
    const r = rng(7);
    const live = new Map<number, number>();
    const startBytes = heap.stats().memoryBytes;
    for (let step = 0; step < 1000; step++) {
      if (live.size && r() < 0.45) {
        const [ptr, bytes] = [...live][Math.floor(r() * live.size)]!;
        heap.release(ptr, bytes);
        live.delete(ptr);
      } else {
        const bytes = 1 + Math.floor(r() ** 3 * 200_000);
        const ptr = heap.alloc(bytes);
        expect(ptr % 64).toBe(0);
        expect(ptr).toBeGreaterThanOrEqual(65536);
        for (const [p, b] of live) expect(ptr + bytes <= p || p + b <= ptr).toBe(true);
        live.set(ptr, bytes);
      }
    }
    const s = heap.stats();
    expect(s.liveBlocks).toBe(live.size);
    expect(s.memoryBytes).toBeGreaterThan(startBytes);
    // Freeing everything and allocating the same sizes again reuses blocks without growing.
    const sizes = [...live.values()];
    for (const [p, b] of live) heap.release(p, b);
    const before = heap.stats().memoryBytes;
    const again = sizes.map((b) => heap.alloc(b));
    expect(heap.stats().memoryBytes).toBe(before);
    expect(new Set(again).size).toBe(again.length);
  });

  it('the backend reports live buffers and bytes, and upload/read round-trip every dtype', () => {
    const before = cpu.memory();
    const arrays = [new Float32Array([1.5, -2, 3]), new Float64Array([1e300, -0]), new Int32Array([-7, 2 ** 31 - 1]), new Uint8Array([0, 1, 1])];
    const dtypes = ['float32', 'float64', 'int32', 'bool'] as const;
    const bufs = arrays.map((a, i) => cpu.upload(a, dtypes[i]!));
    expect(cpu.memory()).toEqual({ buffers: before.buffers + 4, bytes: before.bytes + 12 + 16 + 8 + 3 });
    bufs.forEach((b, i) => {
      const v = { buffer: b, shape: [arrays[i]!.length], strides: [1], offset: 0, dtype: dtypes[i]! };
      expect(Array.from(cpu.readSync(v))).toEqual(Array.from(arrays[i]!));
    });
    // Casting uploads follow the reference: float → int32 truncates, anything → bool is != 0.
    const ints = cpu.upload(new Float64Array([2.9, -2.9, NaN, 3e9]), 'int32');
    expect(Array.from(cpu.readSync({ buffer: ints, shape: [4], strides: [1], offset: 0, dtype: 'int32' }))).toEqual([2, -2, 0, 3e9 | 0]);
    const bools = cpu.upload(new Float32Array([0, 2, NaN]), 'bool');
    expect(Array.from(cpu.readSync({ buffer: bools, shape: [3], strides: [1], offset: 0, dtype: 'bool' }))).toEqual([0, 1, 1]);
    for (const b of [...bufs, ints, bools]) cpu.free(b);
    expect(cpu.memory()).toEqual(before);
    expect(() => cpu.free(ints)).toThrow(/freed twice/);
  });

  it('read resolves to the same data as readSync, including strided views', async () => {
    const b = cpu.upload(new Float32Array([0, 1, 2, 3, 4, 5]), 'float32');
    const v = { buffer: b, shape: [3, 2], strides: [1, 3], offset: 0, dtype: 'float32' as const };
    expect(Array.from(await cpu.read(v))).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(cpu.readSync(v))).toEqual([0, 3, 1, 4, 2, 5]);
    cpu.free(b);
  });
});
