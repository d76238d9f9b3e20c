/**
 * The GPT example end to end with a tiny model: train a few steps, resume from the checkpoint, sample from it with
 * examples/generate, and bad flags give a usage message and a non-zero exit (no stack trace).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runExample } from './run-example.js';

const TRAIN = 'examples/train-gpt/main.ts';
const GENERATE = 'examples/generate/main.ts';
const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-train-gpt-'));
const out = path.join(dir, 'run');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = ['--dim', '16', '--layers', '1', '--heads', '2', '--block', '16', '--batch', '4', '--sample-length', '12', '--eval-every', '2'];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const selected = process.env.TESSERA_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
const WEBGPU_SELECTED = !selected?.length || selected.includes('webgpu');

describe('examples/train-gpt', () => {
  it('trains a few steps, writes a checkpoint, the loss curve and samples', async () => {
    const r = await runExample(TRAIN, [...TINY, '--steps', '3', '--out', out]);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/corpus: typescript\/lib\/lib\.es5\.d\.ts/);
    expect(r.stdout).toMatch(/step 3\/3 +loss \d+\.\d+ +[\d,]+ tok\/s +ETA/);
    expect(r.stdout).toMatch(/validation loss \d+\.\d+/);
    expect(r.stdout).toMatch(/done: step 3 \(3 this run/);
    expect(existsSync(path.join(out, 'checkpoint.safetensors'))).toBe(true);
    expect([...readFileSync(path.join(out, 'loss.png')).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(readFileSync(path.join(out, 'samples.txt'), 'utf8')).toMatch(/── step 2, validation loss/);
  });

  it('resumes from its checkpoint and continues the step count', async () => {
    const r = await runExample(TRAIN, ['--resume', '--steps', '5', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resuming at step 3 of 5 steps/);
    expect(r.stdout).not.toMatch(/step 3\/5/);
    expect(r.stdout).toMatch(/step 5\/5/);
    expect(r.stdout).toMatch(/done: step 5 \(2 this run/);
  });

  it('refuses to resume past the planned steps, with a message instead of a trace', async () => {
    const r = await runExample(TRAIN, ['--resume', '--steps', '5', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/already at step 5; pass --steps larger than 5/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('Ctrl-C saves a checkpoint, and resuming from it reproduces an uninterrupted run exactly', async () => {
    const args = [...TINY, '--steps', '120', '--eval-every', '50'];
    const whole = path.join(dir, 'whole');
    const cut = path.join(dir, 'cut');
    expect((await runExample(TRAIN, [...args, '--out', whole])).code).toBe(0);
    let sent = false;
    const first = await runExample(TRAIN, [...args, '--out', cut], {
      onStdout: (text, child) => {
        if (!sent && /^step +10\/120/m.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/stopped at step \d+ of 120; continue with --resume/);
    const stoppedAt = Number(/stopped at step (\d+)/.exec(first.stdout)![1]);
    expect(stoppedAt).toBeLessThan(120);
    const resumed = await runExample(TRAIN, ['--resume', '--out', cut]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`resuming at step ${stoppedAt} of 120 steps of 4×16`));
    const history = (dirName: string) => {
      const bytes = readFileSync(path.join(dirName, 'checkpoint.safetensors'));
      const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
      return (JSON.parse(header.__metadata__.extra).history as { step: number; loss: number; split: string }[]).filter((p) => p.split === 'train');
    };
    expect(history(cut)).toEqual(history(whole));
  });

  it('trains on a text file given with --data', async () => {
    const file = path.join(dir, 'corpus.txt');
    writeFileSync(file, 'the quick brown fox jumps over the lazy dog. '.repeat(40));
    const r = await runExample(TRAIN, [...TINY, '--steps', '2', '--data', file, '--out', path.join(dir, 'data-run'), '--attention', 'gqa', '--kv-heads', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/corpus: .*corpus\.txt, 1,800 characters, vocabulary 28/);
    expect(r.stdout).toMatch(/'gqa'/);
  });

  it('generate samples from the checkpoint, reproducibly for a seed', async () => {
    const args = ['--checkpoint', path.join(out, 'checkpoint.safetensors'), '--prompt', 'interface ', '--length', '24', '--seed', '7', '--temperature', '0.9', '--top-k', '5', '--top-p', '0.95'];
    const a = await runExample(GENERATE, args);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.startsWith('interface ')).toBe(true);
    expect([...a.stdout.trimEnd()].length).toBe('interface '.length + 24);
    const b = await runExample(GENERATE, args);
    expect(b.stdout).toBe(a.stdout);
  });

  // Left out only where the test runner narrowed the backends (TESSERA_BACKENDS without webgpu, with its notice).
  it.runIf(WEBGPU_SELECTED)('trains and samples on the webgpu backend (lavapipe from scripts/setup-webgpu.sh without a GPU)', async () => {
    const wgOut = path.join(dir, 'webgpu-run');
    const r = await runExample(TRAIN, [...TINY, '--steps', '2', '--backend', 'webgpu', '--out', wgOut]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backend 'webgpu'/);
    expect(r.stdout).toMatch(/step 2\/2/);
    const g = await runExample(GENERATE, ['--backend', 'webgpu', '--checkpoint', path.join(wgOut, 'checkpoint.safetensors'), '--length', '8']);
    expect(g.code, g.stderr).toBe(0);
  });

  it.each([
    [TRAIN, ['--bogus'], /unknown option '--bogus'/],
    [TRAIN, ['--steps', 'many'], /option '--steps <n>' argument 'many' is invalid/],
    [TRAIN, ['--attention', 'nope'], /option '--attention <name>' argument 'nope' is invalid\. Allowed choices are mha, gqa, mqa/],
    [TRAIN, ['--backend', 'tpu'], /option '--backend <name>' argument 'tpu' is invalid/],
    [GENERATE, ['--top-p', '2'], /option '--top-p <p>' argument '2' is invalid/],
    [GENERATE, ['--temperature', '-1'], /option '--temperature <x>' argument '-1' is invalid/],
  ])('%s %j prints the usage and exits non-zero', async (script, args, message) => {
    const r = await runExample(script, args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Usage: (train-gpt|generate) \[options\]/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it.each([
    [TRAIN, ['--data', '/no/such/file.txt', '--out', path.join(dir, 'x')], /--data: cannot read '\/no\/such\/file\.txt'/],
    [TRAIN, ['--heads', '5', '--out', path.join(dir, 'y')], /cannot build the model .*not divisible by numHeads 5/],
    [GENERATE, ['--checkpoint', path.join(dir, 'missing.safetensors')], /--checkpoint: no checkpoint at/],
  ])('%s %j names the problem without a stack trace', async (script, args, message) => {
    const r = await runExample(script, args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
