/**
 * PyTorch as a peer, through /usr/bin/python3 when it has torch: one Python process times every case with the same
 * plan (see pytorch_bench.py), setting torch.set_num_threads per case, and hands back per-run milliseconds as JSON.
 * Absent on a plain machine: shown as n/a.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchCase, Contender, Outcome, SamplePlan } from '../harness.js';

const PYTHON = process.env.TESSERA_BENCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./pytorch_bench.py', import.meta.url));

interface PyResult {
  version: string;
  blas: string;
  samples: Record<string, number[] | null>;
}

function runPython(input: string): Promise<PyResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [SCRIPT], { maxBuffer: 16 << 20, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(String(stderr || err.message).trim().split('\n').at(-1)));
      else resolve(JSON.parse(stdout) as PyResult);
    });
    child.stdin!.end(input);
  });
}

export function pytorchContender(): Contender {
  let result: PyResult | undefined;
  return {
    name: 'pytorch',
    async setup(cases: readonly BenchCase[], plan: SamplePlan) {
      if (!existsSync(PYTHON)) return `${PYTHON} not found`;
      try {
        result = await runPython(JSON.stringify({ cases, plan }));
        return null;
      } catch (e) {
        return `PyTorch unavailable: ${(e as Error).message}`;
      }
    },
    async time(c: BenchCase): Promise<Outcome> {
      const samples = result?.samples[c.id];
      return samples ? { samples } : { skip: 'not implemented for PyTorch' };
    },
    describe: () =>
      result
        ? `pytorch: PyTorch ${result.version} (CPU; BLAS loaded: ${result.blas}), torch.set_num_threads per row, one interop thread, via ${PYTHON}; ` +
          'attention written out as softmax(q·kᵀ/√D + mask)·v (1.13 has no fused SDPA)'
        : 'pytorch: n/a',
  };
}
