/**
 * The FinalizationRegistry safety net: storages whose handles are simply dropped are freed once the GC collects
 * them. vitest runs files in forked workers started without --expose-gc, so the flag is turned on at runtime and
 * `gc` is fetched from a fresh context (V8 exposes it to contexts created after the flag is set).
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { memoryStats, ones, randn } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { useBackend } from '../conformance/helpers.js';

function getGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
const gc = getGc();

/** Runs the GC and yields so finalizers get their turn, until `done` holds or the attempts run out. */
async function collectUntil(done: () => boolean): Promise<boolean> {
  for (let i = 0; i < 30 && !done(); i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return done();
}

describe.each(BACKENDS)('GC safety net (%s)', (name) => {
  useBackend(name);
  const live = () => memoryStats()[name]!;

  // If this Node build refuses the flag there is no way to force a collection; the safety net is then untestable.
  it.skipIf(!gc)('frees the buffers of dropped, never-disposed tensors', async () => {
    const before = live().buffers;
    (() => {
      // Tensors, views and op results, none disposed and none referenced once this function returns.
      for (let i = 0; i < 50; i++) {
        const t = ones([64]).mul(2).exp();
        t.reshape(8, 8).T.sum(0);
      }
      randn([1000]);
    })();
    expect(live().buffers).toBeGreaterThan(before);
    expect(await collectUntil(() => live().buffers <= before)).toBe(true);
  });

  it.skipIf(!gc)('never frees storage that a live handle still uses', async () => {
    const kept = ones([16]).add(1);
    const view = kept.reshape(4, 4);
    await collectUntil(() => false);
    expect(kept.storage.isFreed).toBe(false);
    expect(Array.from(await view.data())).toEqual(new Array(16).fill(2));
    kept.dispose();
    view.dispose();
  });
});
