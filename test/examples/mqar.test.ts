/**
 * The MQAR example end to end with a tiny config (every mixer, a few steps, one length): it prints the parameter
 * budget and per-module results, and writes the tables and the plot. No accuracy threshold: a few steps learn
 * nothing; accuracy belongs to docs/mqar.md. Also the data generator's layout, and usage errors.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mqarBatch, Rng, vocabSize, type MQARConfig } from '../../examples/mqar/data.js';
import { runExample } from './run-example.js';

const RUN = 'examples/mqar/run.ts';
const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-mqar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODULES = ['mha', 'gqa', 'moh', 'mla', 'titans-mac', 'linear'];
const TINY = ['--steps', '3', '--seqLens', '32', '--dim', '32', '--heads', '2', '--keys', '16', '--tokensPerStep', '64', '--testSequences', '4'];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface Saved {
  settings: { seqLens: number[] };
  results: {
    module: string;
    parameters: number;
    cache: { perToken: number; fixed: number };
    lengths: { seqLen: number; accuracy: number; msPerStep: number; cacheBytes: number }[];
  }[];
}

describe('examples/mqar', () => {
  it('trains every mixer a few steps and writes the tables and the plot', async () => {
    const r = await runExample(RUN, [...TINY, '--modules', MODULES.join(','), '--out', dir], { timeoutMs: 240_000 });
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code, r.stderr).toBe(0);
    for (const m of MODULES) {
      expect(r.stdout).toMatch(new RegExp(`^  ${m} +[\\d,]+  \\([+-]\\d+\\.\\d%, MLP width \\d+\\)`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^\\| ${m} \\| \\d+\\.\\d% \\|$`, 'm'));
    }
    expect(r.stdout).toMatch(/trained in \d+\.\d s; test accuracy T=32: \d+\.\d% \(\d+ ms\/step\)/);

    const saved = JSON.parse(readFileSync(path.join(dir, 'mqar-results.json'), 'utf8')) as Saved;
    expect(saved.results.map((x) => x.module)).toEqual(MODULES);
    const budget = saved.results[0]!.parameters;
    for (const res of saved.results) {
      expect(Math.abs(res.parameters / budget - 1)).toBeLessThanOrEqual(0.1);
      expect(res.lengths).toHaveLength(1);
      const [l] = res.lengths;
      expect(l!.seqLen).toBe(32);
      expect(l!.accuracy).toBeGreaterThanOrEqual(0);
      expect(l!.accuracy).toBeLessThanOrEqual(1);
      expect(l!.msPerStep).toBeGreaterThan(0);
      expect(Number.isFinite(l!.msPerStep)).toBe(true);
      expect(l!.cacheBytes).toBe(4 * (res.cache.perToken * 32 + res.cache.fixed));
    }
    const byName = Object.fromEntries(saved.results.map((x) => [x.module, x.cache]));
    // d=32, 2 heads of 16, one layer per block × 2 layers: MHA keeps 2·H·d_h per token per layer, GQA half of it.
    expect(byName.mha).toEqual({ perToken: 2 * 2 * 2 * 16, fixed: 0 });
    expect(byName.gqa!.perToken).toBe(byName.mha!.perToken / 2);
    expect(byName.mla!.perToken).toBeLessThan(byName.mha!.perToken);
    expect(byName.linear!.perToken).toBe(0);
    expect(byName.linear!.fixed).toBe(2 * 2 * 16 * 16);
    expect(byName['titans-mac']!.perToken).toBe(0);

    const md = readFileSync(path.join(dir, 'mqar-results.md'), 'utf8');
    expect(md).toMatch(/\| module \| T=32 \(N=4\) \|/);
    expect(md).toMatch(/\| module \| parameters \| MLP width \| KV cache \/ token \|/);
    expect(readFileSync(path.join(dir, 'mqar-accuracy.svg'), 'utf8')).toMatch(/^<svg[^>]*>[\s\S]*MQAR test accuracy[\s\S]*<\/svg>$/);
    expect([...readFileSync(path.join(dir, 'mqar-accuracy.png')).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  }, 300_000);

  it('a bad flag prints the error and the usage, exit 1, no stack trace', async () => {
    const r = await runExample(RUN, ['--modules', 'mha,nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown module nope[\s\S]*Usage: mqar/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    const help = await runExample(RUN, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--steps <n>[\s\S]*--seqLens <list>[\s\S]*--modules <list>[\s\S]*--out <dir>/);
  });
});

describe('MQAR data', () => {
  const c: MQARConfig = { seqLen: 40, numPairs: 5, numQueries: 4, numKeys: 10, numValues: 7 };

  it('lays out distinct keys with values from a disjoint range, then queries of context keys followed by their value', () => {
    const b = mqarBatch(c, 6, new Rng(3));
    expect(vocabSize(c)).toBe(18);
    for (let row = 0; row < 6; row++) {
      const seq = [...b.inputs.subarray(row * 40, row * 40 + 40)];
      const keys = [0, 2, 4, 6, 8].map((i) => seq[i]!);
      const values = [1, 3, 5, 7, 9].map((i) => seq[i]!);
      expect(new Set(keys).size).toBe(5);
      for (const k of keys) expect(k >= 1 && k <= 10).toBe(true);
      for (const v of values) expect(v >= 11 && v <= 17).toBe(true);
      const queries = [...b.queryIndex.subarray(row * 4, row * 4 + 4)].map((i) => i - row * 40);
      expect(queries).toEqual([...queries].sort((x, y) => x - y));
      const asked = new Set<number>();
      queries.forEach((p, q) => {
        expect(p).toBeGreaterThanOrEqual(10);
        const pair = keys.indexOf(seq[p]!);
        expect(pair).toBeGreaterThanOrEqual(0);
        asked.add(pair);
        expect(seq[p + 1]).toBe(values[pair]);
        expect(b.targets[row * 4 + q]).toBe(values[pair]);
      });
      expect(asked.size).toBe(4);
      const used = new Set(queries.flatMap((p) => [p, p + 1]));
      for (let p = 10; p < 40; p++) if (!used.has(p)) expect(seq[p]).toBe(0);
    }
  });

  it('is reproducible from the seed and rejects configs that do not fit', () => {
    expect(mqarBatch(c, 3, new Rng(9))).toEqual(mqarBatch(c, 3, new Rng(9)));
    expect(mqarBatch(c, 3, new Rng(9)).inputs).not.toEqual(mqarBatch(c, 3, new Rng(10)).inputs);
    expect(() => mqarBatch({ ...c, seqLen: 16 }, 1, new Rng(1))).toThrow(/seqLen 16 leaves room for 3 query pairs after 5 kv pairs, need 4/);
    expect(() => mqarBatch({ ...c, numKeys: 4 }, 1, new Rng(1))).toThrow(/numKeys 4 < numPairs 5/);
    expect(() => mqarBatch({ ...c, numQueries: 6 }, 1, new Rng(1))).toThrow(/numQueries 6 > numPairs 5/);
  });
});
