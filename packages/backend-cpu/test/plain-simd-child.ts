/**
 * Run by plain-simd.test.ts in a child process with TESSERA_WASM_RELAXED=0: the cpu backend's plain mul+add kernels
 * (the fallback where relaxed SIMD is absent) against the reference backend. Prints one JSON line.
 */
import '@tessera/backend-cpu';
import { randn, Generator } from '@tessera/core';
import { hasRelaxedSimd } from '../src/wasm/features.js';

let worst = 0;
for (const [m, k, n] of [[70, 45, 67], [256, 256, 256], [3, 300, 5]] as const) {
  const g = new Generator(m * k + n);
  const a = randn([m, k], { device: 'cpu', generator: g });
  const b = randn([k, n], { device: 'cpu', generator: g });
  const got = a.matmul(b).dataSync();
  const want = a.to('reference').matmul(b.to('reference')).dataSync();
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.sqrt(k));
}
console.log(JSON.stringify({ hasRelaxedSimd, worst }));
process.exit(0);
