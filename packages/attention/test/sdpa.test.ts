/** scaledDotProductAttention: PyTorch fixtures (forward + backward), the spec §2.5 equivalences, and errors. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ArgumentError, eye, Generator, grad, noGrad, setBackend, ShapeError, tensor, type Tensor } from '@tessera/core';
import { gradcheck, gradgradcheck } from '@tessera/core/testing';
import { causalMask, scaledDotProductAttention, sigmoidAttention, toAdditiveMask, type ScaledDotProductAttentionOptions } from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { FUSED_BACKEND, fusedBackend } from './fused-backend.js';
import { fixture, fromFT, numbers, seeded, testFloat, tolFor, type FT } from './helpers.js';

interface SdpaCase {
  name: string;
  options: { is_causal?: boolean; alignment?: 'topLeft' | 'bottomRight'; scale?: number; enable_gqa?: boolean };
  q: FT;
  k: FT;
  v: FT;
  mask: FT | null;
  maskGrad: boolean;
  out: FT;
  upstream: FT;
  grads: FT[];
}

const cases = fixture<SdpaCase[]>('sdpa.json');
const toOpts = (o: SdpaCase['options']): ScaledDotProductAttentionOptions => ({
  isCausal: o.is_causal,
  causalAlignment: o.alignment,
  scale: o.scale,
  enableGqa: o.enable_gqa,
});

describe.each([...BACKENDS, FUSED_BACKEND])('scaledDotProductAttention vs PyTorch (%s)', (backend) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    setBackend(backend);
    const tol = tolFor(testFloat());
    const before = fusedBackend.calls;
    const [q, k, v] = [fromFT(c.q), fromFT(c.k), fromFT(c.v)].map((t) => t.requiresGrad_());
    const mask = c.mask ? fromFT(c.mask) : null;
    if (mask && c.maskGrad) mask.requiresGrad_();
    const out = scaledDotProductAttention(q!, k!, v!, { ...toOpts(c.options), attnMask: mask });
    expect(out.shape).toEqual(c.out.shape);
    expectClose(await out.data(), numbers(c.out), tol, `${c.name} output`);
    const leaves = [q!, k!, v!, ...(mask && c.maskGrad ? [mask] : [])];
    const grads = grad(out, leaves, { gradOutputs: fromFT(c.upstream) });
    for (const [i, g] of grads.entries()) expectClose(await g!.data(), numbers(c.grads[i]!), tol, `${c.name} grad ${i}`);
    if (backend === FUSED_BACKEND) expect(fusedBackend.calls).toBeGreaterThan(before);
  });
});

describe.each([...BACKENDS, FUSED_BACKEND])('scaledDotProductAttention properties (%s)', (backend) => {
  const dtype = backend === FUSED_BACKEND || hasFloat64(backend) ? 'float64' : 'float32';
  const tol = tolFor(dtype);
  const dims = fc.record({ B: fc.integer({ min: 1, max: 2 }), H: fc.integer({ min: 1, max: 2 }), L: fc.integer({ min: 1, max: 4 }), S: fc.integer({ min: 1, max: 5 }), E: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 1e6 }) });
  const draw = (d: { B: number; H: number; L: number; S: number; E: number; seed: number }) => {
    const r = seeded(d.seed);
    const t = (s: number[]) => r(s).to(dtype);
    return { q: t([d.B, d.H, d.L, d.E]), k: t([d.B, d.H, d.S, d.E]), v: t([d.B, d.H, d.S, d.E + 1]), r };
  };
  const close = async (a: Tensor, b: Tensor, what: string) => expectClose(await a.data(), await b.data(), tol, what);

  it('bool mask m ≡ float mask where(m, 0, −∞)', async () => {
    setBackend(backend);
    await fc.assert(fc.asyncProperty(dims, async (d) => {
      const { q, k, v, r } = draw(d);
      const m = r([d.L, d.S]).gt(0).logicalOr(causalMask(d.L, d.S)); // every row keeps key 0
      await close(scaledDotProductAttention(q, k, v, { attnMask: m }), scaledDotProductAttention(q, k, v, { attnMask: toAdditiveMask(m, dtype) }), 'bool vs float');
    }), { numRuns: 12 });
  });

  it('isCausal ≡ explicit tril mask (top-left), and bottom-right ≡ tril shifted by S − L', async () => {
    setBackend(backend);
    await fc.assert(fc.asyncProperty(dims, async (d) => {
      const { q, k, v } = draw(d);
      const ones = tensor(new Array(d.L * d.S).fill(true)).reshape([d.L, d.S]);
      const tril = (diag: number) => ones.to('float32').tril(diag).gt(0);
      await close(scaledDotProductAttention(q, k, v, { isCausal: true }), scaledDotProductAttention(q, k, v, { attnMask: tril(0) }), 'top-left');
      if (d.S >= d.L)
        await close(scaledDotProductAttention(q, k, v, { isCausal: true, causalAlignment: 'bottomRight' }), scaledDotProductAttention(q, k, v, { attnMask: tril(d.S - d.L) }), 'bottom-right');
    }), { numRuns: 12 });
  });

  it('scale c ≡ pre-multiplying q by c·√E with the default scale', async () => {
    setBackend(backend);
    await fc.assert(fc.asyncProperty(dims, fc.double({ min: 0.1, max: 2, noNaN: true }), async (d, c) => {
      const { q, k, v } = draw(d);
      await close(scaledDotProductAttention(q, k, v, { scale: c }), scaledDotProductAttention(q.mul(c * Math.sqrt(d.E)), k, v), 'scale');
    }), { numRuns: 10 });
  });

  it('enableGqa ≡ repeat_interleave of K/V; a shared head gets the sum of its copies’ gradients', async () => {
    setBackend(backend);
    await fc.assert(fc.asyncProperty(dims, fc.integer({ min: 1, max: 3 }), async (d, g) => {
      const r = seeded(d.seed);
      const q = r([d.B, d.H * g, d.L, d.E]).to(dtype);
      const k = r([d.B, d.H, d.S, d.E]).to(dtype).requiresGrad_();
      const v = r([d.B, d.H, d.S, d.E]).to(dtype).requiresGrad_();
      const kr = k.detach().repeatInterleave(g, 1).requiresGrad_();
      const vr = v.detach().repeatInterleave(g, 1).requiresGrad_();
      const a = scaledDotProductAttention(q, k, v, { enableGqa: true, isCausal: true });
      const b = scaledDotProductAttention(q, kr, vr, { isCausal: true });
      await close(a, b, 'gqa forward');
      const up = r([...a.shape]).to(dtype);
      const [gk, gv] = grad(a, [k, v], { gradOutputs: up });
      const [gkr, gvr] = grad(b, [kr, vr], { gradOutputs: up });
      await close(gk!, gkr!.unflatten(1, [d.H, g]).sum(2), 'dk = sum over the group');
      await close(gv!, gvr!.unflatten(1, [d.H, g]).sum(2), 'dv = sum over the group');
    }), { numRuns: 10 });
  });

  it('causality: row i ignores keys/values j > i, and their gradient from row i is exactly 0', async () => {
    setBackend(backend);
    await fc.assert(fc.asyncProperty(dims, async (d) => {
      const { q, k, v, r } = draw({ ...d, S: d.L });
      const i = d.L - 1 - (d.seed % d.L);
      const k2 = k.clone(), v2 = v.clone();
      if (i + 1 < d.L) noGrad(() => { k2.narrow(2, i + 1, d.L - i - 1).add_(r([d.B, d.H, d.L - i - 1, d.E]).to(dtype)); v2.narrow(2, i + 1, d.L - i - 1).add_(1); });
      const row = (o: Tensor) => o.narrow(2, i, 1);
      await close(row(scaledDotProductAttention(q, k, v, { isCausal: true })), row(scaledDotProductAttention(q, k2, v2, { isCausal: true })), 'row i');
      const kk = k.clone().requiresGrad_();
      const [gk] = grad(row(scaledDotProductAttention(q, kk, v, { isCausal: true })).sum(), [kk]);
      if (i + 1 < d.L) expect([...(await gk!.narrow(2, i + 1, d.L - i - 1).data())].every((x) => x === 0)).toBe(true);
    }), { numRuns: 10 });
  });

  it('attention rows sum to 1 (v = identity reads out the weights)', async () => {
    setBackend(backend);
    await fc.assert(fc.asyncProperty(dims, async (d) => {
      const { q, k } = draw(d);
      const A = scaledDotProductAttention(q, k, eye(d.S, d.S, { dtype }).expand([d.B, d.H, d.S, d.S]), { isCausal: true, causalAlignment: d.S >= d.L ? 'bottomRight' : 'topLeft' });
      expectClose(await A.sum(-1).data(), new Array(d.B * d.H * d.L).fill(1), tol, 'row sums');
    }), { numRuns: 10 });
  });

  it('a fully masked row gives 0 and no NaN in the gradients', async () => {
    setBackend(backend);
    const r = seeded(3);
    const [q, k, v] = [r([1, 1, 3, 2]), r([1, 1, 2, 2]), r([1, 1, 2, 2])].map((t) => t.to(dtype).requiresGrad_());
    // bottom-right with L > S: query 0 sees no key.
    const out = scaledDotProductAttention(q!, k!, v!, { isCausal: true, causalAlignment: 'bottomRight' });
    expect([...(await out.narrow(2, 0, 1).data())]).toEqual([0, 0]);
    const grads = grad(out.sum(), [q!, k!, v!]);
    for (const g of grads) expect([...(await g!.data())].some(Number.isNaN)).toBe(false);
  });
});

describe.each(BACKENDS)('scaledDotProductAttention dropout and errors (%s)', (backend) => {
  it('dropoutP = 0 is the no-dropout path; training: false disables dropout; seeded draws repeat; the mean tends to the no-dropout output', async () => {
    setBackend(backend);
    const r = seeded(11);
    const [q, k, v] = [r([1, 1, 2, 3]), r([1, 1, 4, 3]), r([1, 1, 4, 2])];
    const base = await scaledDotProductAttention(q!, k!, v!).data();
    expect([...(await scaledDotProductAttention(q!, k!, v!, { dropoutP: 0 }).data())]).toEqual([...base]);
    expect([...(await scaledDotProductAttention(q!, k!, v!, { dropoutP: 0.5, training: false }).data())]).toEqual([...base]);
    const a = await scaledDotProductAttention(q!, k!, v!, { dropoutP: 0.5, generator: new Generator(5) }).data();
    const b = await scaledDotProductAttention(q!, k!, v!, { dropoutP: 0.5, generator: new Generator(5) }).data();
    expect([...a]).toEqual([...b]);
    const gen = new Generator(9);
    const n = 400;
    let acc = scaledDotProductAttention(q!, k!, v!, { dropoutP: 0.3, generator: gen });
    for (let i = 1; i < n; i++) acc = acc.add(scaledDotProductAttention(q!, k!, v!, { dropoutP: 0.3, generator: gen }));
    expectClose(await acc.div(n).data(), base, { atol: 0.12, rtol: 0 }, 'mean over dropout draws');
  });

  it('rejects bad input with clear errors', () => {
    setBackend(backend);
    const r = seeded(1);
    const [q, k, v] = [r([1, 4, 2, 3]), r([1, 3, 5, 3]), r([1, 3, 5, 3])];
    expect(() => scaledDotProductAttention(q!, k!, v!, { enableGqa: true })).toThrow(/query heads \(4\) must be a multiple of the key\/value heads \(3\)/);
    expect(() => scaledDotProductAttention(q!, r([1, 4, 5, 2]), r([1, 4, 5, 3]))).toThrow(ShapeError);
    expect(() => scaledDotProductAttention(q!, q!, q!, { isCausal: true, attnMask: causalMask(2, 2) })).toThrow(ArgumentError);
    expect(() => scaledDotProductAttention(q!, q!, q!, { attnMask: causalMask(3, 3) })).toThrow(/attnMask \[3, 3\] must broadcast to the attention shape \[1, 4, 2, 2\]/);
    expect(() => scaledDotProductAttention(q!, q!, q!, { dropoutP: 1 })).toThrow(/dropoutP must be within \[0, 1\)/);
    expect(() => scaledDotProductAttention(q!.to('int32'), q!, q!)).toThrow(/q must be floating-point/);
  });
});

describe.each([...BACKENDS.filter(hasFloat64), FUSED_BACKEND])('attention gradchecks in float64 (%s)', (backend) => {
  it('SDPA: q, k, v and a float mask, with GQA and bottom-right causality', async () => {
    setBackend(backend);
    const r = seeded(21);
    const [q, k, v, m] = [r([1, 2, 2, 3]), r([1, 1, 3, 3]), r([1, 1, 3, 2]), r([2, 2, 3])].map((t) => t.requiresGrad_());
    await gradcheck((q, k, v, m) => scaledDotProductAttention(q!, k!, v!, { attnMask: m, enableGqa: true }), [q!, k!, v!, m!]);
    await gradcheck((q, k, v) => scaledDotProductAttention(q!, k!, v!, { isCausal: true, causalAlignment: 'bottomRight', enableGqa: true }), [q!, k!, v!]);
  });

  it('second derivatives (gradgradcheck): the backward is itself differentiable', async () => {
    setBackend(backend);
    const r = seeded(23);
    const [q, k, v] = [r([1, 1, 2, 2]), r([1, 1, 3, 2]), r([1, 1, 3, 2])].map((t) => t.requiresGrad_());
    await gradgradcheck((q, k, v) => scaledDotProductAttention(q!, k!, v!, { isCausal: true, causalAlignment: 'bottomRight' }), [q!, k!, v!]);
  });

  it('sigmoid attention: q, k, v', async () => {
    setBackend(backend);
    const r = seeded(22);
    const [q, k, v] = [r([1, 2, 3, 2]), r([1, 2, 3, 2]), r([1, 2, 3, 2])].map((t) => t.requiresGrad_());
    await gradcheck((q, k, v) => sigmoidAttention(q!, k!, v!, { bias: -Math.log(3), isCausal: true }), [q!, k!, v!]);
  });
});
