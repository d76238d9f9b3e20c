/**
 * Every ```ts block of README.md runs as written: each is written to its own temporary module (with the
 * @tessera/core imports pointed at the sources) and imported, so a tour that drifts from the API fails here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORE = path.join(ROOT, 'packages/core/src');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pointAtSources = (code: string) =>
  code
    .replaceAll("from '@tessera/core/testing'", `from '${pathToFileURL(path.join(CORE, 'testing/index.ts')).href}'`)
    .replace(/(from |import )'@tessera\/([a-z-]+)'/g, (_m, kw: string, pkg: string) =>
      `${kw}'${pathToFileURL(path.join(ROOT, 'packages', pkg, 'src/index.ts')).href}'`);

describe('README.md', () => {
  it('has a tour to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  it.each(blocks.map((code, i) => [i + 1, code.split('\n').find((l) => l.startsWith('import')) ?? '', code] as const))(
    'snippet %i runs (%s)',
    async (i, _firstImport, code) => {
      const file = path.join(dir, `snippet-${i}.ts`);
      writeFileSync(file, `${pointAtSources(code)}\nexport {};\n`);
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        await import(pathToFileURL(file).href);
      } finally {
        log.mockRestore();
      }
    },
  );
});
