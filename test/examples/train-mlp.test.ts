/** The MLP example (examples/train-mlp.ts) runs a few steps, and a bad flag gives its usage and a non-zero exit. */
import { describe, expect, it } from 'vitest';
import { runExample } from './run-example.js';

const SCRIPT = 'examples/train-mlp.ts';

describe('examples/train-mlp', () => {
  it('trains a few steps', async () => {
    const r = await runExample(SCRIPT, ['--steps', '5', '--backend', 'reference']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/two spirals: 400 points, MLP 2-64-64-2/);
    expect(r.stdout).toMatch(/^\s+5\s+\d+\.\d+\s+\d+\.\d+%/m);
  });

  it('a bad flag prints the usage and exits non-zero', async () => {
    const r = await runExample(SCRIPT, ['--stepz', '5']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unknown option '--stepz'/);
    expect(r.stderr).toMatch(/Usage: npx tsx examples\/train-mlp\.ts/);
  });
});
