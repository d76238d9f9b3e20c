#!/usr/bin/env node
// `pnpm test`: sets up what the suites need, then runs vitest over every backend.
//
// WebGPU runs on a software Vulkan driver (lavapipe) where there is no GPU, and the notebooks need Jupyter with Deno's
// kernel. scripts/setup-webgpu.sh and scripts/setup-notebooks.sh install them on Debian as root; we run them when they
// have not run yet and we can. Where they cannot run (not root, no apt) those suites are left out with a loud notice —
// except under CI=true, where anything missing must fail the run, never be skipped.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ci = process.env.CI === 'true' || process.env.CI === '1';
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function trySetup(script, what) {
  if (!isRoot || !has('apt-get')) return false;
  console.log(`test: setting up ${what} (${script})`);
  try {
    execFileSync('bash', [script], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    return true;
  } catch {
    console.error(`test: ${script} failed`);
    return false;
  }
}

const args = process.argv.slice(2);
const env = { ...process.env };
const icd = `${root}.vk/lvp_icd.json`;
const webgpuReady = existsSync(icd) || Boolean(env.VK_DRIVER_FILES) || trySetup('scripts/setup-webgpu.sh', 'WebGPU (lavapipe, chromium)');
if (!webgpuReady && !ci) {
  console.warn(
    '\n*** test: WebGPU suites LEFT OUT: no Vulkan driver set up. Run `sudo bash scripts/setup-webgpu.sh` (Debian) ***\n',
  );
  env.TESSERA_BACKENDS ??= 'reference,cpu';
  args.push('--exclude', 'test/browser/**', '--exclude', 'packages/backend-webgpu/**');
}

// The teaching notebooks run on Jupyter's nbconvert with Deno's kernel; the setup is idempotent (~1 s when present).
const notebooksReady = (has('jupyter') && has('deno')) || trySetup('scripts/setup-notebooks.sh', 'the notebook toolchain (jupyter, deno)');
if (!notebooksReady && !ci) {
  console.warn('\n*** test: notebook tests LEFT OUT: no jupyter/deno. Run `sudo bash scripts/setup-notebooks.sh` (Debian) ***\n');
  args.push('--exclude', 'test/examples/notebooks.test.ts');
}

const r = spawnSync('npx', ['vitest', 'run', ...args], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
