/**
 * Browser check: the page in page.ts, bundled with esbuild and served from a tiny static server on 127.0.0.1, runs
 * in Debian's headless Chromium (driven by playwright-core) on WebGPU and must report a falling loss. Chromium's
 * WebGPU runs on its bundled SwiftShader Vulkan driver, so no GPU is needed; scripts/setup-webgpu.sh installs it.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('webgpu in headless Chromium', () => {
  let server: Server;
  let url = '';
  let profile = '';

  beforeAll(async () => {
    const bundle = await esbuild.build({
      entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      // The Node-only Dawn bindings are imported lazily and never reached in a browser.
      external: ['webgpu'],
      logLevel: 'silent',
    });
    const js = bundle.outputFiles[0]!.text;
    const html = '<!doctype html><meta charset="utf-8"><title>tessera webgpu</title><script type="module" src="/page.js"></script>';
    server = createServer((req, res) => {
      if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
    profile = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('trains a tiny MLP on navigator.gpu and the loss falls', async () => {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(String(e)));
      await page.goto(url);
      type Published = { __tessera?: { losses: number[]; error?: string } };
      await page.waitForFunction(() => (globalThis as Published).__tessera !== undefined, undefined, { timeout: 90_000 });
      const outcome = (await page.evaluate(() => (globalThis as Published).__tessera))!;
      expect(outcome.error, `page error; console:\n${logs.join('\n')}`).toBeUndefined();
      const { losses } = outcome;
      expect(losses.length).toBeGreaterThan(2);
      expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    } finally {
      await context.close();
    }
  }, 120_000);
});
