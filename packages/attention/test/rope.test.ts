/** RoPE: PyTorch fixtures for both conventions, partial rotary dims, offsets and per-row positions; spec §9.6 properties. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { grad, setBackend, tensor } from '@tessera/core';
import { gradcheck } from '@tessera/core/testing';
import { applyRope, interleavedToHalfPermutation, RotaryEmbedding, type RopeConvention } from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { fixture, fromFT, numbers, seeded, testFloat, tolFor, type FT } from './helpers.js';

interface RopeCase {
  name: string;
  convention: RopeConvention;
  rotaryDim: number;
  theta: number;
  offset: number;
  positions: number[] | null;
  positionsShape: number[] | null;
  x: FT;
  out: FT;
  upstream: FT;
  grads: FT[];
}

const cases = fixture<RopeCase[]>('rope.json');

describe.each(BACKENDS)('RoPE (%s)', (backend) => {
  it.each(cases.map((c) => [c.name, c] as const))('vs PyTorch: %s', async (_n, c) => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    const x = fromFT(c.x).requiresGrad_();
    const positions = c.positions ? tensor(Int32Array.from(c.positions)).reshape(c.positionsShape!) : c.offset;
    const out = applyRope(x, positions, { convention: c.convention, rotaryDim: c.rotaryDim, theta: c.theta });
    expectClose(await out.data(), numbers(c.out), tol, 'output');
    const [g] = grad(out, [x], { gradOutputs: fromFT(c.upstream) });
    expectClose(await g!.data(), numbers(c.grads[0]!), tol, 'grad');
  });

  const conv = fc.constantFrom<RopeConvention>('half', 'interleaved');
  const cfg = fc.record({ D: fc.constantFrom(2, 4, 6, 8), T: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1e6 }), m: fc.integer({ min: 0, max: 40 }), c: fc.integer({ min: -5, max: 30 }) });

  it('position 0 is the identity and every position preserves norms', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, conv, async ({ D, T, seed, m }, convention) => {
      const x = seeded(seed)([2, T, D]);
      expectClose(await applyRope(x, new Array(T).fill(0), { convention }).data(), await x.data(), tol, 'R_0 = I');
      const y = applyRope(x, m, { convention });
      expectClose(await y.norm(2, -1).data(), await x.norm(2, -1).data(), tol, 'norm');
    }), { numRuns: 12 });
  });

  it('scores depend only on relative position: ⟨R_m q, R_n k⟩ = ⟨R_{m+c} q, R_{n+c} k⟩', async () => {
    setBackend(backend);
    const tol = { atol: 1e-4, rtol: 1e-4 };
    await fc.assert(fc.asyncProperty(cfg, conv, fc.integer({ min: 0, max: 40 }), async ({ D, seed, m, c }, convention, n) => {
      const r = seeded(seed);
      const [q, k] = [r([1, D]), r([1, D])];
      const score = (a: number, b: number) => applyRope(q, a, { convention }).mul(applyRope(k, b, { convention })).sum();
      const shift = Math.max(c, -Math.min(m, n));
      expectClose(await score(m + shift, n + shift).data(), await score(m, n).data(), tol, 'relative');
    }), { numRuns: 12 });
  });

  it('interleaved and rotate-half agree through the even/odd permutation Π', async () => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    await fc.assert(fc.asyncProperty(cfg, async ({ D, T, seed, m }) => {
      const x = seeded(seed)([T, D]);
      const perm = tensor(Int32Array.from(interleavedToHalfPermutation(D)));
      const a = applyRope(x.indexSelect(-1, perm), m, { convention: 'half' });
      const b = applyRope(x, m, { convention: 'interleaved' }).indexSelect(-1, perm);
      expectClose(await a.data(), await b.data(), tol, 'Π');
    }), { numRuns: 10 });
  });

  it('partial rotary passes the trailing features through', async () => {
    setBackend(backend);
    const x = seeded(4)([3, 8]);
    const y = new RotaryEmbedding(8, { rotaryDim: 4, convention: 'interleaved' }).apply(x, 5);
    expect([...(await y.narrow(-1, 4, 4).data())]).toEqual([...(await x.narrow(-1, 4, 4).data())]);
  });

  it('rejects an odd or oversized rotary dim and positions that do not broadcast', () => {
    setBackend(backend);
    const x = seeded(1)([2, 3, 6]);
    expect(() => applyRope(x, 0, { rotaryDim: 3 })).toThrow(/rotaryDim must be an even integer in \[2, 6\]/);
    expect(() => applyRope(x, 0, { rotaryDim: 8 })).toThrow(/rotaryDim/);
    expect(() => applyRope(x, [0, 1])).toThrow(/positions of shape \[2\] do not broadcast to the rows \[2, 3\]/);
    expect(() => new RotaryEmbedding(6, { theta: -1 })).toThrow(/theta must be positive/);
  });

  it.runIf(hasFloat64(backend))('gradcheck in float64', async () => {
    setBackend(backend);
    const x = seeded(5, 'float64')([2, 3, 6]).requiresGrad_();
    await gradcheck((x) => applyRope(x!, 2, { rotaryDim: 4 }), [x]);
    await gradcheck((x) => applyRope(x!, [3, 1, 4], { convention: 'interleaved' }), [x]);
  });
});
