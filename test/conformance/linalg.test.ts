/** matmul's 1-D/N-D/batch-broadcast rules, dot, outer, transpose, eye and einsum, checked against mathjs. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as math from 'mathjs';
import { dot, einsum, eye, matmul, outer, tensor, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { floatSetup, flatNested, lcg, nestedFrom, useBackend, vals, type Nested } from './helpers.js';

const RUNS = { numRuns: 12 };
const dim = fc.integer({ min: 1, max: 4 });

/** mathjs has no batched matmul: multiply each pair of matrices after broadcasting the batch dims by hand. */
function batchedMultiply(a: Nested[], b: Nested[], batchA: number, batchB: number): Nested[] {
  const n = Math.max(batchA, batchB);
  return Array.from({ length: n }, (_, i) => math.multiply(a[batchA === 1 ? 0 : i] as number[][], b[batchB === 1 ? 0 : i] as number[][]) as Nested);
}

describe.each(BACKENDS)('linear algebra vs mathjs (%s)', (name) => {
  useBackend(name);
  const { F, fround } = floatSetup(name);
  const tol = { atol: F === 'float32' ? 1e-4 : 1e-10, rtol: F === 'float32' ? 1e-4 : 1e-10 };
  let seed = 1;
  /** A nested array of random values, rounded to F, and the tensor holding it. */
  const rand = (shape: number[]): [Nested, Tensor] => {
    const v = lcg(seed++, shape.reduce((p, s) => p * s, 1)).map(fround);
    const nested = nestedFrom(shape, (i) => v[i]!);
    return [nested, tensor(nested, { dtype: F })];
  };

  it('2-D × 2-D matches math.multiply', async () => {
    await fc.assert(
      fc.asyncProperty(dim, dim, dim, async (m, k, n) => {
        const [a, ta] = rand([m, k]);
        const [b, tb] = rand([k, n]);
        const out = ta.matmul(tb);
        expect(out.shape).toEqual([m, n]);
        expectClose(await out.data(), flatNested(math.multiply(a as number[][], b as number[][]) as Nested), tol);
      }),
      RUNS,
    );
  });

  it('1-D × 1-D is a 0-dim dot product; 1-D × 2-D and 2-D × 1-D drop the added dim', async () => {
    const [v, tv] = rand([3]);
    const [w, tw] = rand([3]);
    const [A, tA] = rand([3, 2]);
    const [B, tB] = rand([2, 3]);
    const d = matmul(tv, tw);
    expect(d.shape).toEqual([]);
    expectClose(await d.data(), [Number(math.dot(v as number[], w as number[]))], tol);
    expectClose(await dot(tv, tw).data(), [Number(math.dot(v as number[], w as number[]))], tol);
    const vA = matmul(tv, tA);
    expect(vA.shape).toEqual([2]);
    expectClose(await vA.data(), flatNested(math.multiply(v as number[], A as number[][]) as Nested), tol);
    const Bv = matmul(tB, tv);
    expect(Bv.shape).toEqual([2]);
    expectClose(await Bv.data(), flatNested(math.multiply(B as number[][], v as number[]) as Nested), tol);
  });

  it('1-D × N-D and N-D × 1-D with batch dims', async () => {
    const [v, tv] = rand([3]);
    const [X, tX] = rand([2, 3, 4]);
    const vX = matmul(tv, tX);
    expect(vX.shape).toEqual([2, 4]);
    expectClose(await vX.data(), (X as number[][][]).flatMap((m) => math.multiply(v as number[], m) as number[]), tol);
    const [Y, tY] = rand([2, 4, 3]);
    const Yv = matmul(tY, tv);
    expect(Yv.shape).toEqual([2, 4]);
    expectClose(await Yv.data(), (Y as number[][][]).flatMap((m) => math.multiply(m, v as number[]) as number[]), tol);
  });

  it('batch dims broadcast', async () => {
    await fc.assert(
      fc.asyncProperty(dim, dim, dim, fc.integer({ min: 1, max: 3 }), fc.boolean(), async (m, k, n, batch, leftIsOne) => {
        const [ba, bb] = leftIsOne ? [1, batch] : [batch, 1];
        const [a, ta] = rand([ba, m, k]);
        const [b, tb] = rand([bb, k, n]);
        const out = ta.matmul(tb);
        expect(out.shape).toEqual([batch, m, n]);
        expectClose(await out.data(), flatNested(batchedMultiply(a as Nested[], b as Nested[], ba, bb)), tol);
        // A 2-D operand broadcasts against a batch too.
        const out2 = ta.matmul(tb.select(0, 0));
        expect(out2.shape).toEqual([ba, m, n]);
        expectClose(await out2.data(), flatNested(batchedMultiply(a as Nested[], [(b as Nested[])[0]!], ba, 1)), tol);
      }),
      RUNS,
    );
    const [, t4] = rand([2, 1, 3, 4]);
    const [, t5] = rand([3, 4, 5]);
    expect(t4.matmul(t5).shape).toEqual([2, 3, 3, 5]);
  });

  it('transposed (non-contiguous) operands and int32 matmul', async () => {
    const [A, tA] = rand([4, 3]);
    const [B, tB] = rand([4, 2]);
    expectClose(await tA.T.matmul(tB).data(), flatNested(math.multiply(math.transpose(A as number[][]), B as number[][]) as Nested), tol);
    expectClose(await tA.mT.data(), flatNested(math.transpose(A as number[][]) as Nested), tol);
    const i = tensor([[1, 2], [3, 4]], { dtype: 'int32' });
    const r = i.matmul(i);
    expect(r.dtype).toBe('int32');
    expect(await vals(r)).toEqual([7, 10, 15, 22]);
  });

  it('outer and eye match mathjs', async () => {
    const [v, tv] = rand([3]);
    const [w, tw] = rand([2]);
    const o = outer(tv, tw);
    expect(o.shape).toEqual([3, 2]);
    expectClose(await o.data(), flatNested(math.multiply(math.reshape(v as number[], [3, 1]), math.reshape(w as number[], [1, 2])) as Nested), tol);
    expect(await vals(eye(3, undefined, { dtype: F }))).toEqual(flatNested((math.identity(3) as math.Matrix).toArray() as Nested));
    expect(await vals(eye(2, 4, { dtype: F }))).toEqual(flatNested((math.identity(2, 4) as math.Matrix).toArray() as Nested));
    expect(eye(3, 3, { dtype: 'int32' }).dtype).toBe('int32');
    expect(eye(0).shape).toEqual([0, 0]);
  });

  it('einsum equations', async () => {
    const [A, tA] = rand([3, 4]);
    const [B, tB] = rand([4, 2]);
    const [C, tC] = rand([2, 5]);
    const [S, tS] = rand([3, 3]);
    const [v, tv] = rand([3]);
    const mm = flatNested(math.multiply(A as number[][], B as number[][]) as Nested);
    expectClose(await einsum('ij,jk->ik', tA, tB).data(), mm, tol);
    expectClose(await einsum('ij,jk', tA, tB).data(), mm, tol); // implicit output: sorted single letters
    expectClose(await einsum('ij,jk,kl->il', tA, tB, tC).data(), flatNested(math.multiply(math.multiply(A as number[][], B as number[][]), C as number[][]) as Nested), tol);
    expectClose(await einsum('ij->ji', tA).data(), flatNested(math.transpose(A as number[][]) as Nested), tol);
    expectClose(await einsum('ii->i', tS).data(), flatNested(math.diag(S as number[][]) as unknown as Nested), tol);
    expectClose(await einsum('ii', tS).data(), [Number(math.trace(S as number[][]))], tol);
    expectClose(await einsum('ij->', tA).data(), [Number(math.sum(A as number[][]))], tol);
    expectClose(await einsum('ij->j', tA).data(), flatNested(math.sum(A as number[][], 0) as Nested), tol);
    expectClose(await einsum('i,j->ij', tv, tv).data(), flatNested(math.multiply(math.reshape(v as number[], [3, 1]), math.reshape(v as number[], [1, 3])) as Nested), tol);
    expectClose(await einsum('i,i->', tv, tv).data(), [Number(math.dot(v as number[], v as number[]))], tol);
    expectClose(await einsum('ij,j->i', tA.narrow(1, 0, 3), tv).data(), flatNested(math.multiply((A as number[][]).map((r) => r.slice(0, 3)), v as number[]) as Nested), tol);

    const [X, tX] = rand([2, 3, 4]);
    const [Y, tY] = rand([2, 4, 2]);
    const batched = flatNested(batchedMultiply(X as Nested[], Y as Nested[], 2, 2));
    expectClose(await einsum('bij,bjk->bik', tX, tY).data(), batched, tol);
    expectClose(await einsum('...ij,...jk->...ik', tX, tY).data(), batched, tol);
    const q = tX.unsqueeze(0);
    const k = tX.unsqueeze(0);
    const scores = einsum('bhqd,bhkd->bhqk', q, k);
    expect(scores.shape).toEqual([1, 2, 3, 3]);
    expectClose(await scores.data(), flatNested((X as number[][][]).map((m) => math.multiply(m, math.transpose(m)) as Nested)), tol);
  });
});
