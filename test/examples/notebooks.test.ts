/**
 * Executes every teaching notebook in examples/notebooks headlessly (`jupyter nbconvert --execute`, Deno kernel)
 * and fails on any cell error. Without Jupyter or the Deno kernel this FAILS, telling how to install them: run
 * scripts/setup-notebooks.sh (as root on Debian/Ubuntu). It never skips silently.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './run-example.js';

const NOTEBOOKS = path.join(ROOT, 'examples/notebooks');
const KERNEL = 'deno';
const SETUP_HINT = 'the notebook toolchain is missing: run `bash scripts/setup-notebooks.sh` (as root; installs Jupyter from apt and the Deno kernel from npm)';
const outDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-notebooks-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const notebooks = readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();

/** Why the toolchain cannot run the notebooks, or null when it can (checked once). */
let checked: string | null | undefined;
function toolchainProblem(): string | null {
  if (checked === undefined) checked = findToolchainProblem();
  return checked;
}

function findToolchainProblem(): string | null {
  const nbconvert = spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' });
  if (nbconvert.error || nbconvert.status !== 0) return `${SETUP_HINT} ('jupyter nbconvert' is not available)`;
  const specs = spawnSync('jupyter', ['kernelspec', 'list', '--json'], { encoding: 'utf8' });
  if (specs.status !== 0) return `${SETUP_HINT} ('jupyter kernelspec list' failed: ${specs.stderr.trim().split('\n').at(-1)})`;
  const kernels = Object.keys((JSON.parse(specs.stdout) as { kernelspecs: Record<string, unknown> }).kernelspecs);
  if (!kernels.includes(KERNEL)) return `${SETUP_HINT} (no '${KERNEL}' Jupyter kernel; found: ${kernels.join(', ') || 'none'})`;
  return null;
}

interface NotebookCell {
  cell_type: string;
  outputs?: { output_type: string; ename?: string; evalue?: string }[];
}

describe('teaching notebooks', () => {
  it('are there, and use the Deno kernel', () => {
    expect(notebooks.length).toBeGreaterThanOrEqual(4);
    for (const nb of notebooks) {
      const meta = JSON.parse(readFileSync(path.join(NOTEBOOKS, nb), 'utf8')).metadata;
      expect(meta.kernelspec.name, nb).toBe(KERNEL);
    }
  });

  it('the notebook toolchain is installed', () => {
    const problem = toolchainProblem();
    if (problem) throw new Error(problem);
  });

  it.each(notebooks)('%s runs without a cell error', (nb) => {
    const problem = toolchainProblem();
    if (problem) throw new Error(problem);
    const r = spawnSync(
      'jupyter',
      ['nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.kernel_name=${KERNEL}`, '--ExecutePreprocessor.timeout=300', '--output-dir', outDir, path.join(NOTEBOOKS, nb)],
      { encoding: 'utf8', cwd: NOTEBOOKS, timeout: 280_000 },
    );
    // nbconvert exits non-zero on the first cell error; its stderr ends with the cell and the error.
    expect(r.status, `${nb} failed:\n${(r.stderr ?? '').split('\n').slice(-30).join('\n')}`).toBe(0);
    const executed = JSON.parse(readFileSync(path.join(outDir, nb), 'utf8')) as { cells: NotebookCell[] };
    const errors = executed.cells.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`));
    expect(errors).toEqual([]);
    const pictures = executed.cells.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'display_data'));
    expect(pictures.length, 'each notebook draws inline').toBeGreaterThan(0);
  }, 300_000);
});
