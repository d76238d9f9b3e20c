/**
 * Per-element cost of the non-matmul kernels on 2^20 float32 elements (one thread by default; THREADS=n).
 * Run: npx tsx packages/backend-cpu/bench/ops.ts
 */
import type { BackendBuffer, DType, View } from '@tessera/core';
import { CpuBackend } from '../src/backend.js';

const cpu = new CpuBackend('bench');
cpu.numThreads = Number(process.env.THREADS ?? 1);
const n = 1 << 20;
const view = (dtype: DType, data: Float32Array | Uint8Array, shape = [n], strides = [1]): View => ({
  buffer: cpu.upload(data, dtype),
  shape,
  strides,
  offset: 0,
  dtype,
});
const a = view('float32', new Float32Array(n).map(() => Math.random() - 0.5));
const b = view('float32', new Float32Array(n).map(() => Math.random() - 0.5));
const cond = view('bool', new Uint8Array(n).map(() => +(Math.random() < 0.5)));
const square = { ...a, shape: [1024, 1024], strides: [1024, 1] };

function bench(name: string, op: () => BackendBuffer): void {
  cpu.free(op());
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const out = op();
    times.push(performance.now() - t0);
    cpu.free(out);
  }
  times.sort((x, y) => x - y);
  console.log(`${name.padEnd(22)} ${((times[0]! / n) * 1e6).toFixed(3)} ns/element`);
}

bench('add', () => cpu.binary('add', a, b, 'float32'));
bench('gt → bool', () => cpu.binary('gt', a, b, 'bool'));
bench('where', () => cpu.where(cond, a, b, 'float32'));
for (const op of ['exp', 'log', 'tanh', 'sigmoid', 'gelu', 'silu', 'sin'] as const) bench(op, () => cpu.unary(op, a, 'float32'));
bench('copy f32 → f64', () => cpu.copy(a, 'float64'));
bench('transpose copy', () => cpu.copy({ ...square, strides: [1, 1024] }, 'float32'));
bench('sum rows', () => cpu.reduce('sum', square, [1], 'float32'));
bench('sum columns', () => cpu.reduce('sum', square, [0], 'float32'));
bench('max rows', () => cpu.reduce('max', square, [1], 'float32'));
bench('softmax rows', () => cpu.fused.softmax!(square, false));
bench('layerNorm rows', () => cpu.fused.layerNorm!(square, null, null, 1e-5));
bench('random uniform', () => cpu.random(n, 'uniform', 1, 0, 'float32'));
bench('random normal', () => cpu.random(n, 'normal', 1, 0, 'float32'));
process.exit(0);
