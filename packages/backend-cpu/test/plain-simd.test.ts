/**
 * Both matmul paths are tested: this process uses relaxed SIMD (fused multiply-add) wherever the runtime has it —
 * on Node 20 the backend switches V8's flag on itself — and a child process with TESSERA_WASM_RELAXED=0 checks the
 * plain mul+add fallback against the reference backend.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasRelaxedSimd } from '../src/wasm/features.js';

describe('relaxed SIMD and its fallback', () => {
  it('relaxed SIMD is on in Node 20 and later (the backend enables it on Node 20/21)', () => {
    if (Number(process.versions.node.split('.')[0]) >= 20) expect(hasRelaxedSimd).toBe(true);
  });

  it('TESSERA_WASM_RELAXED=0 gives the plain kernels, which agree with the reference', () => {
    const child = fileURLToPath(new URL('./plain-simd-child.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', child], { env: { ...process.env, TESSERA_WASM_RELAXED: '0' }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { hasRelaxedSimd: boolean; worst: number };
    expect(out.hasRelaxedSimd).toBe(false);
    expect(out.worst).toBeLessThan(1e-5);
  });
});
