/** softmax/logSoftmax, layerNorm/rmsNorm and scaled-dot-product attention against formulas evaluated with mathjs. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as math from 'mathjs';
import { layerNorm, logSoftmax, rmsNorm, scaledDotProductAttention, softmax, tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { floatSetup, flatNested, lcg, nestedFrom, useBackend, type Nested } from './helpers.js';

type Mat = number[][];
const softmaxRow = (r: number[]) => {
  const m = Number(math.max(r));
  const e = r.map((v) => Math.exp(v - m));
  const s = Number(math.sum(e));
  return e.map((v) => v / s);
};
const layerNormRow = (r: number[], eps: number) => {
  const mu = Number(math.mean(r));
  const v = Number(math.variance(r, 'uncorrected'));
  return r.map((x) => (x - mu) / Math.sqrt(v + eps));
};
const rmsRow = (r: number[], eps: number) => {
  const ms = Number(math.mean(r.map((x) => x * x)));
  return r.map((x) => x / Math.sqrt(ms + eps));
};
function attention(q: Mat, k: Mat, v: Mat, scale: number, mask?: (i: number, j: number) => boolean): Mat {
  const scores = (math.multiply(q, math.transpose(k)) as Mat).map((row, i) => row.map((s, j) => (mask && !mask(i, j) ? -Infinity : s * scale)));
  return math.multiply(scores.map(softmaxRow), v) as Mat;
}

describe.each(BACKENDS)('fused ops (%s)', (name) => {
  useBackend(name);
  const { F, fround } = floatSetup(name);
  const tol = { atol: F === 'float32' ? 1e-5 : 1e-12, rtol: F === 'float32' ? 1e-4 : 1e-10 };
  let seed = 7;
  const randMat = (r: number, c: number, scale = 3): Mat => {
    const v = lcg(seed++, r * c, -scale, scale).map(fround);
    return nestedFrom([r, c], (i) => v[i]!) as Mat;
  };

  it('softmax and logSoftmax over every dim', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: -2, max: 1 }), async (r, c, dim) => {
        const a = randMat(r, c, 10);
        const d = dim < 0 ? dim + 2 : dim;
        const lines = d === 1 ? a : (math.transpose(a) as Mat);
        const sm = lines.map(softmaxRow);
        const expected = d === 1 ? sm : (math.transpose(sm) as Mat);
        const t = tensor(a, { dtype: F });
        expectClose(await softmax(t, dim).data(), flatNested(expected as Nested), tol, 'softmax');
        expectClose(await t.logSoftmax(dim).data(), flatNested(expected as Nested).map(Math.log), { atol: tol.atol * 10, rtol: tol.rtol }, 'logSoftmax');
      }),
      { numRuns: 15 },
    );
  });

  it('softmax handles -inf entries, all -inf rows (NaN like PyTorch) and huge values', async () => {
    const x = tensor([[0, -Infinity, 0], [-Infinity, -Infinity, -Infinity], [1000, 1001, -Infinity]], { dtype: F });
    const s = softmax(x, -1);
    const e = softmaxRow([1000, 1001]);
    expectClose(await s.data(), [0.5, 0, 0.5, NaN, NaN, NaN, e[0]!, e[1]!, 0], tol);
    expectClose(await logSoftmax(x, -1).data(), [-Math.LN2, -Infinity, -Math.LN2, NaN, NaN, NaN, Math.log(e[0]!), Math.log(e[1]!), -Infinity], { atol: 1e-5, rtol: 1e-5 });
    expect(softmax(tensor([1, 2, 3], { dtype: 'int32' })).dtype).toBe('float32');
  });

  it('layerNorm with and without affine parameters, over one or two trailing dims', async () => {
    const a = randMat(3, 4);
    const w = lcg(99, 4, 0.5, 1.5).map(fround);
    const b = lcg(98, 4).map(fround);
    const t = tensor(a, { dtype: F });
    const plain = a.map((r) => layerNormRow(r, 1e-5));
    expectClose(await layerNorm(t, [4]).data(), flatNested(plain), tol);
    const affine = plain.map((r) => r.map((v, i) => v * w[i]! + b[i]!));
    expectClose(await layerNorm(t, [4], tensor(w, { dtype: F }), tensor(b, { dtype: F }), 1e-5).data(), flatNested(affine), tol);
    const whole = layerNormRow(a.flat(), 1e-3);
    expectClose(await layerNorm(t.unsqueeze(0), [3, 4], null, null, 1e-3).data(), whole, tol);
    expect(layerNorm(t.unsqueeze(0), [3, 4]).shape).toEqual([1, 3, 4]);
  });

  it('rmsNorm with the default eps (machine epsilon) and a weight', async () => {
    const a = randMat(2, 5);
    const w = lcg(5, 5, 0.5, 1.5).map(fround);
    const eps = F === 'float64' ? 2.220446049250313e-16 : 1.1920928955078125e-7;
    const t = tensor(a, { dtype: F });
    expectClose(await rmsNorm(t, [5]).data(), flatNested(a.map((r) => rmsRow(r, eps))), tol);
    expectClose(await rmsNorm(t, [5], tensor(w, { dtype: F }), 1e-6).data(), flatNested(a.map((r) => rmsRow(r, 1e-6).map((v, i) => v * w[i]!))), tol);
  });

  it('scaledDotProductAttention: plain, causal, bool mask, additive mask, custom scale, batched', async () => {
    const [L, S, D, Dv] = [3, 4, 2, 3];
    const q = randMat(L, D);
    const k = randMat(S, D);
    const v = randMat(S, Dv);
    const [tq, tk, tv] = [q, k, v].map((m) => tensor(m, { dtype: F }).reshape(1, 1, m.length, m[0]!.length));
    const scale = 1 / Math.sqrt(D);
    const out = scaledDotProductAttention(tq!, tk!, tv!);
    expect(out.shape).toEqual([1, 1, L, Dv]);
    expectClose(await out.data(), flatNested(attention(q, k, v, scale)), tol, 'plain');
    expectClose(await scaledDotProductAttention(tq!, tk!, tv!, { isCausal: true }).data(), flatNested(attention(q, k, v, scale, (i, j) => j <= i)), tol, 'causal');
    const allowed = [[true, false, true, true], [false, true, false, false], [true, true, true, false]];
    expectClose(await scaledDotProductAttention(tq!, tk!, tv!, { attnMask: tensor(allowed) }).data(), flatNested(attention(q, k, v, scale, (i, j) => allowed[i]![j]!)), tol, 'bool mask');
    const additive = randMat(L, S);
    const withBias = (math.multiply(q, math.transpose(k)) as Mat).map((r, i) => r.map((s, j) => s * 0.7 + additive[i]![j]!));
    const expected = math.multiply(withBias.map(softmaxRow), v) as Mat;
    expectClose(await scaledDotProductAttention(tq!, tk!, tv!, { attnMask: tensor(additive, { dtype: F }), scale: 0.7 }).data(), flatNested(expected), tol, 'additive');
    // Batch dims broadcast through the matmuls: two heads sharing k and v.
    const q2 = randMat(L, D);
    const tq2 = tensor([q, q2], { dtype: F }).unsqueeze(0);
    const both = scaledDotProductAttention(tq2, tk!, tv!);
    expect(both.shape).toEqual([1, 2, L, Dv]);
    expectClose(await both.data(), [...flatNested(attention(q, k, v, scale)), ...flatNested(attention(q2, k, v, scale))], tol, 'batched');
  });
});
