/**
 * PyTorch golden values for every core op, forward and backward, on every backend: in float64 where the backend has
 * it, and in float32 (looser tolerance) everywhere. Fixture: test/fixtures/golden-ops.json (regenerate: `pnpm fixtures`).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getBackend, setBackend, type DType } from '@tessera/core';
import { BACKENDS, hasFloat64 } from '../support/backends.js';
import { CASES, checkCase, runnable, type OpFn } from './fixture.js';
import { ELEMENTWISE_OPS, REDUCE_OPS } from './table-math.js';
import { INDEXING_OPS, JOIN_OPS, VIEW_OPS } from './table-shape.js';
import { CAST_CREATION_OPS, INPLACE_OPS, LINALG_FUSED_OPS } from './table-misc.js';

const OPS: Record<string, OpFn> = {
  ...ELEMENTWISE_OPS, ...REDUCE_OPS, ...VIEW_OPS, ...INDEXING_OPS, ...JOIN_OPS, ...LINALG_FUSED_OPS, ...CAST_CREATION_OPS, ...INPLACE_OPS,
};

describe('golden fixture', () => {
  it('has cases', () => expect(CASES.length).toBeGreaterThan(100));
  it('maps every fixture op to a Tessera call', () => {
    const unmapped = [...new Set(CASES.map((c) => c.op))].filter((op) => !(op in OPS));
    expect(unmapped, 'fixture ops with no entry in the golden op tables').toEqual([]);
  });
  it('has no stale table entries', () => {
    const used = new Set(CASES.map((c) => c.op));
    expect(Object.keys(OPS).filter((op) => !used.has(op))).toEqual([]);
  });
});

/** Every backend in its widest float dtype, and in float32 too where that is not already it. */
const RUNS = BACKENDS.flatMap((device) => (hasFloat64(device) ? ['float64', 'float32'] : ['float32']).map((float) => [device, float as DType] as const));

describe.each(RUNS)('golden ops vs PyTorch on %s in %s', (device, float) => {
  const tol = float === 'float64' ? { atol: 1e-10, rtol: 1e-9 } : { atol: 1e-4, rtol: 1e-3 };
  let previous = '';
  beforeEach(() => {
    previous = getBackend().name;
    setBackend(device);
  });
  afterEach(() => setBackend(previous));

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const fn = OPS[c.op];
    if (!fn) throw new Error(`no Tessera mapping for fixture op '${c.op}'`);
    if (!runnable(c, float)) return; // explicit float64 inputs on a backend without float64
    await checkCase(c, fn, { device, float }, tol);
  });
});
