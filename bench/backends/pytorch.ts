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
  /** 'CPU', or the CUDA device's name when the webgpu set found a GPU. */
  device?: string;
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

/** `gpu`: the webgpu set, where PyTorch runs on CUDA if it sees a GPU (else on the CPU, as in the cpu set). */
export function pytorchContender(gpu = false): Contender {
  let result: PyResult | undefined;
  return {
    name: 'pytorch',
    async setup(cases: readonly BenchCase[], plan: SamplePlan) {
      if (!existsSync(PYTHON)) return `${PYTHON} not found`;
      try {
        result = await runPython(JSON.stringify({ cases, plan, device: gpu ? 'auto' : 'cpu' }));
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
      !result
        ? 'pytorch: n/a'
        : result.device && result.device !== 'CPU'
          ? `pytorch: PyTorch ${result.version} on CUDA (${result.device}), eager, TF32 off, synchronized after every run, via ${PYTHON}; ` +
            'attention written out as softmax(q·kᵀ/√D + mask)·v, as in the cpu set'
          : `pytorch: PyTorch ${result.version} (CPU; BLAS loaded: ${result.blas}), torch.set_num_threads per row, one interop thread, via ${PYTHON}; ` +
            'attention written out as softmax(q·kᵀ/√D + mask)·v (1.13 has no fused SDPA)',
  };
}
