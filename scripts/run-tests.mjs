#!/usr/bin/env node
// `pnpm test`: sets up what the suites need, then runs vitest over every backend.
//
// WebGPU runs on a software Vulkan driver (lavapipe) where there is no GPU. scripts/setup-webgpu.sh installs it (and
// Chromium for the browser check) on Debian as root; we run it when it has not run yet and we can. Where it cannot run
// (not root, no apt) the WebGPU suites are left out with a loud notice — except under CI=true, where a missing adapter
// must fail the run, never be skipped.
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

const r = spawnSync('npx', ['vitest', 'run', ...args], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
