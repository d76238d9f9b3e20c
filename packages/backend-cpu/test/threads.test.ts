import type { BackendBuffer, DType, View } from '@tessera/core';
import { afterAll, describe, expect, it } from 'vitest';
import { getNumThreads, setNumThreads } from '../src/index.js';
import { contiguousLayout, cpu, randomData, randomLayout, readBuf, rng, viewOn } from './helpers.js';

const initial = getNumThreads();
afterAll(() => setNumThreads(initial));

/** Runs `op` with 1, 2 and 3 threads and checks the outputs are bit-identical. */
function sameAcrossThreads(op: () => { buf: BackendBuffer; shape: number[]; dtype: DType }): void {
  const results: number[][] = [];
  for (const n of [1, 2, 3]) {
    setNumThreads(n);
    const { buf, shape, dtype } = op();
    results.push(Array.from(readBuf(cpu, buf, shape, dtype)));
    cpu.free(buf);
  }
  expect(results[1]).toEqual(results[0]);
  expect(results[2]).toEqual(results[0]);
}

describe('threads give the same results as one thread', () => {
  const r = rng(3);
  const big = [301, 517];
  const layout = randomLayout(r, big, false);
  const x = viewOn(cpu, randomData(r, 'float32', layout.size), 'float32', big, layout);
  const y = viewOn(cpu, randomData(r, 'float32', layout.size), 'float32', big, layout);
  const m = (n: number, k: number, seed: number): View => viewOn(cpu, randomData(rng(seed), 'float32', n * k, -1, 1), 'float32', [n, k], contiguousLayout([n, k]));

  it('elementwise (strided) and math', () => {
    sameAcrossThreads(() => ({ buf: cpu.binary('mul', x, y, 'float32'), shape: big, dtype: 'float32' }));
    sameAcrossThreads(() => ({ buf: cpu.unary('gelu', x, 'float32'), shape: big, dtype: 'float32' }));
  });

  it('reductions over rows and columns', () => {
    sameAcrossThreads(() => ({ buf: cpu.reduce('sum', x, [1], 'float32'), shape: [301], dtype: 'float32' }));
    sameAcrossThreads(() => ({ buf: cpu.reduce('max', x, [0], 'float32'), shape: [517], dtype: 'float32' }));
  });

  it('matmul: square, tall, wide and batched', () => {
    const [a, b, c] = [m(257, 129, 1), m(129, 263, 2), m(1, 129, 3)];
    sameAcrossThreads(() => ({ buf: cpu.matmul(a, b, 'float32'), shape: [257, 263], dtype: 'float32' }));
    const tall = m(999, 64, 4);
    const thin = m(64, 5, 5);
    sameAcrossThreads(() => ({ buf: cpu.matmul(tall, thin, 'float32'), shape: [999, 5], dtype: 'float32' }));
    sameAcrossThreads(() => ({ buf: cpu.matmul(c, b, 'float32'), shape: [1, 263], dtype: 'float32' }));
    const batched = viewOn(cpu, randomData(rng(6), 'float32', 5 * 70 * 90), 'float32', [5, 70, 90], contiguousLayout([5, 70, 90]));
    const rhs = { ...m(90, 80, 7), shape: [5, 90, 80], strides: [0, 80, 1] };
    sameAcrossThreads(() => ({ buf: cpu.matmul(batched, rhs, 'float32'), shape: [5, 70, 80], dtype: 'float32' }));
  });

  it('fused softmax / layerNorm, random and cumsum', () => {
    sameAcrossThreads(() => ({ buf: cpu.fused.softmax!(x, false), shape: big, dtype: 'float32' }));
    sameAcrossThreads(() => ({ buf: cpu.fused.layerNorm!(x, null, null, 1e-5), shape: big, dtype: 'float32' }));
    sameAcrossThreads(() => ({ buf: cpu.random(100_003, 'normal', 99, 7, 'float32'), shape: [100_003], dtype: 'float32' }));
    sameAcrossThreads(() => ({ buf: cpu.cumsum(x, 1, 'float32'), shape: big, dtype: 'float32' }));
  });

  it('setNumThreads validates its argument', () => {
    expect(() => setNumThreads(0)).toThrow(/positive integer/);
    expect(() => setNumThreads(1.5)).toThrow(/positive integer/);
    setNumThreads(2);
    expect(getNumThreads()).toBe(2);
  });
});
