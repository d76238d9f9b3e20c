/**
 * float32 matmul throughput of the cpu backend: GFLOP/s for n×n·n×n at n = 256, 512, 1024 on 1 and 2 threads.
 * Run: npx tsx packages/backend-cpu/bench/matmul.ts  (add --experimental-wasm-relaxed-simd via
 * `node --experimental-wasm-relaxed-simd --import tsx …` on Node 20 to enable the FMA micro-kernel).
 */
import type { View } from '@tessera/core';
import { CpuBackend } from '../src/backend.js';
import { setMatmulTuning } from '../src/ops/matmul.js';
import { hasRelaxedSimd } from '../src/wasm/features.js';

const backend = new CpuBackend('bench');
const sizes = (process.env.SIZES ?? '256,512,1024').split(',').map(Number);
const threadCounts = (process.env.THREADS ?? '1,2').split(',').map(Number);
const dtype = (process.env.DTYPE ?? 'float32') as 'float32' | 'float64';
if (process.env.TUNE) setMatmulTuning(dtype, JSON.parse(process.env.TUNE));
const transB = process.env.TRANS_B === '1';

function view(n: number, trans = false): View {
  const data = new (dtype === 'float32' ? Float32Array : Float64Array)(n * n).map(() => Math.random() - 0.5);
  return { buffer: backend.upload(data, dtype), shape: [n, n], strides: trans ? [1, n] : [n, 1], offset: 0, dtype };
}

console.log(`relaxed SIMD: ${hasRelaxedSimd}, dtype ${dtype}${transB ? ', B transposed' : ''}`);
for (const threads of threadCounts) {
  backend.numThreads = threads;
  for (const n of sizes) {
    const [a, b] = [view(n), view(n, transB)];
    const flops = 2 * n ** 3;
    const reps = Math.max(8, Math.round(2e9 / flops));
    backend.free(backend.matmul(a, b, dtype)); // warm-up: compile, spin up workers
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      backend.free(backend.matmul(a, b, dtype));
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    const best = times[0]!;
    const median = times[Math.floor(times.length / 2)]!;
    console.log(`threads ${threads}  n ${String(n).padStart(4)}  best ${(flops / best / 1e6).toFixed(1).padStart(5)} GFLOP/s  median ${(flops / median / 1e6).toFixed(1).padStart(5)} GFLOP/s  (${reps} reps)`);
    backend.free(a.buffer);
    backend.free(b.buffer);
  }
}
process.exit(0);
