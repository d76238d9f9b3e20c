/**
 * Property-based gradient checks of softmax, the normalizations, matmul/einsum and scaled-dot-product attention,
 * over random shapes, broadcast batch dims and memory layouts.
 */
import fc from 'fast-check';
import { describe } from 'vitest';
import { einsum, layerNorm, matmulNT, outer, rmsNorm, scaledDotProductAttention, tensor, type Tensor } from '@tessera/core';
import { shapeArb } from '@tessera/core/testing';
import { BACKENDS } from '../support/backends.js';
import { constant, gradProperty, leaf, leavesOf, makeCase, type FloatDtype, type GradSpec } from './harness.js';

const side = fc.integer({ min: 1, max: 3 });

/** A leaf and a dim of it (possibly negative). */
const withDim = (d: FloatDtype) =>
  leaf(d, { minDims: 1 }).chain((x) => fc.tuple(fc.constant(x), fc.integer({ min: -x.ndim, max: x.ndim - 1 })));

/** Batch shapes for matmul: b's batch broadcasts against a's. */
const batchPair = shapeArb({ maxDims: 2, maxSide: 2 }).chain((full) =>
  fc.tuple(fc.constant(full), fc.integer({ min: 0, max: full.length }), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length })).map(
    ([f, drop, ones]) => [f, f.slice(drop).map((s, i) => (ones[i + drop] ? 1 : s))] as const,
  ),
);

/** Shapes for each einsum equation, from letter sizes. */
const EINSUMS: [string, (n: Record<string, number>) => number[][]][] = [
  ['bhqd,bhkd->bhqk', (n) => [[n.b!, n.h!, n.q!, n.d!], [n.b!, n.h!, n.k!, n.d!]]],
  ['ij,jk->ik', (n) => [[n.i!, n.j!], [n.j!, n.k!]]],
  ['ii->i', (n) => [[n.i!, n.i!]]],
  ['ii', (n) => [[n.i!, n.i!]]],
  ['ij->', (n) => [[n.i!, n.j!]]],
  ['ij->ji', (n) => [[n.i!, n.j!]]],
  ['i,i->', (n) => [[n.i!], [n.i!]]],
  ['i,j->ij', (n) => [[n.i!], [n.j!]]],
  ['...ij,...jk->...ik', (n) => [[n.b!, n.i!, n.j!], [n.b!, n.j!, n.k!]]],
  ['...ij,jk->...ik', (n) => [[n.b!, n.h!, n.i!, n.j!], [n.j!, n.k!]]],
  ['bij,bjk,bkl->bil', (n) => [[n.b!, n.i!, n.j!], [n.b!, n.j!, n.k!], [n.b!, n.k!, n.l!]]],
  ['ijk->kj', (n) => [[n.i!, n.j!, n.k!]]],
];
const letterSizes = fc.record(Object.fromEntries([...'bhqdkijl'].map((c) => [c, fc.integer({ min: 1, max: c === 'b' || c === 'h' ? 2 : 3 })])));

describe.each(BACKENDS)('fused and linalg gradients on %s', (backend) => {
  const prop = (name: string, spec: GradSpec) => gradProperty(backend, name, spec);

  describe('softmax and normalizations', () => {
    prop('softmax', { inputs: (d) => withDim(d).map(([x, dim]) => makeCase([x], `dim=${dim}`, (x) => x.softmax(dim))) });
    prop('logSoftmax', { inputs: (d) => withDim(d).map(([x, dim]) => makeCase([x], `dim=${dim}`, (x) => x.logSoftmax(dim))) });
    const normShapes = fc.tuple(shapeArb({ maxDims: 2, maxSide: 2 }), shapeArb({ minDims: 1, maxDims: 2, minSide: 2, maxSide: 3, maxSize: 6 }));
    // In float32, rows that are (nearly) constant or tiny make normalization gradients ill-conditioned (x − mean is
    // rounding noise scaled by 1/√eps; second-order terms scale with 1/rms²) on every float32 backend alike, the
    // reference included, so float32 runs draw distinct values of magnitude ≥ 0.25 (no expanded rows).
    const f32Distinct = (d: FloatDtype) => (d === 'float32' ? { distinct: true, minAbs: 0.25 } : {});
    prop('layerNorm without weight and bias', {
      inputs: (d) => normShapes.chain(([lead, ns]) => leaf(d, { shape: [...lead, ...ns], ...f32Distinct(d) }).map((x) => makeCase([x], `normalizedShape=[${ns}]`, (x) => layerNorm(x, ns)))),
    });
    prop('layerNorm with weight and bias', {
      inputs: (d) =>
        normShapes.chain(([lead, ns]) =>
          leavesOf(d, [[...lead, ...ns], ns, ns], f32Distinct(d)).map((xs) => makeCase(xs, `normalizedShape=[${ns}]`, (x, w, b) => layerNorm(x, ns, w, b))),
        ),
    });
    prop('layerNorm with weight only', {
      inputs: (d) =>
        normShapes.chain(([lead, ns]) => leavesOf(d, [[...lead, ...ns], ns], f32Distinct(d)).map((xs) => makeCase(xs, `normalizedShape=[${ns}]`, (x, w) => layerNorm(x, ns, w, null, 1e-3)))),
    });
    prop('rmsNorm without weight', {
      inputs: (d) => normShapes.chain(([lead, ns]) => leaf(d, { shape: [...lead, ...ns], ...f32Distinct(d) }).map((x) => makeCase([x], `normalizedShape=[${ns}]`, (x) => rmsNorm(x, ns)))),
    });
    prop('rmsNorm with weight', {
      inputs: (d) =>
        normShapes.chain(([lead, ns]) => leavesOf(d, [[...lead, ...ns], ns], f32Distinct(d)).map((xs) => makeCase(xs, `normalizedShape=[${ns}]`, (x, w) => rmsNorm(x, ns, w, 1e-4)))),
    });
  });

  describe('matmul family', () => {
    prop('matmul 1-D · 1-D', { inputs: (d) => side.chain((k) => leavesOf(d, [[k], [k]])), fn: (a, b) => a.matmul(b) });
    prop('matmul 2-D · 1-D and 1-D · 2-D', {
      inputs: (d) => fc.tuple(side, side).chain(([m, k]) => leavesOf(d, [[m, k], [k], [k, m]])),
      fn: (a, v, b) => [a.matmul(v), v.matmul(b)],
    });
    prop('matmul 2-D', { inputs: (d) => fc.tuple(side, side, side).chain(([m, k, n]) => leavesOf(d, [[m, k], [k, n]])), fn: (a, b) => a.matmul(b) });
    prop('matmul with broadcast batch dims', {
      inputs: (d) =>
        fc.tuple(batchPair, side, side, side, fc.boolean()).chain(([[ba, bb], m, k, n, swap]) => leavesOf(d, swap ? [[...bb, m, k], [...ba, k, n]] : [[...ba, m, k], [...bb, k, n]])),
      fn: (a, b) => a.matmul(b),
    });
    prop('matmul batched · 1-D', { inputs: (d) => fc.tuple(side, side, side).chain(([b, m, k]) => leavesOf(d, [[b, m, k], [k]])), fn: (a, v) => [a.matmul(v), v.matmul(a.mT)] });
    prop("matmulNT (a Linear's x·Wᵀ)", {
      inputs: (d) => fc.tuple(shapeArb({ maxDims: 2, maxSide: 2 }), side, side, side).chain(([lead, m, k, n]) => leavesOf(d, [[...lead, m, k], [n, k]])),
      fn: (a, w) => matmulNT(a, w),
    });
    prop('matmul with an empty inner dim gives zeros', {
      inputs: (d) => fc.tuple(side, side).chain(([m, n]) => leavesOf(d, [[m, 0], [0, n]])),
      fn: (a, b) => a.matmul(b).add(1),
    });
    prop('dot', { inputs: (d) => side.chain((k) => leavesOf(d, [[k], [k]])), fn: (a, b) => a.dot(b) });
    prop('outer', { inputs: (d) => fc.tuple(side, side).chain(([m, n]) => leavesOf(d, [[m], [n]])), fn: (a, b) => outer(a, b) });
    for (const [eq, shapes] of EINSUMS)
      prop(`einsum '${eq}'`, {
        inputs: (d) => letterSizes.chain((n) => leavesOf(d, shapes(n))),
        fn: (...xs) => einsum(eq, ...xs),
      });
  });

  describe('scaledDotProductAttention', () => {
    const qkv = (d: FloatDtype) =>
      fc.tuple(fc.constantFrom([], [2], [1, 2]), side, side, side, side).chain(([batch, L, S, D, Dv]) =>
        fc.tuple(leavesOf(d, [[...batch, L, D], [...batch, S, D], [...batch, S, Dv]]), fc.constant([L, S] as const)),
      );
    prop('no mask', { inputs: (d) => qkv(d).map(([xs]) => xs), fn: (q, k, v) => scaledDotProductAttention(q, k, v) });
    prop('causal, custom scale', {
      inputs: (d) => qkv(d).map(([xs]) => xs),
      fn: (q, k, v) => [scaledDotProductAttention(q, k, v, { isCausal: true }), scaledDotProductAttention(q, k, v, { scale: 0.3 })],
    });
    prop('boolean mask (every query sees key 0)', {
      inputs: (d) =>
        qkv(d).chain(([xs, [L, S]]) =>
          constant({ shape: [L, S], dtype: 'bool', min: 0, max: 1, step: 1 }).map((m) => {
            const mask = m.logicalOr(firstKey(S, m.device));
            return makeCase([...xs, mask], 'bool mask', (q, k, v, mask) => scaledDotProductAttention(q!, k!, v!, { attnMask: mask! }));
          }),
        ),
    });
    prop('additive float mask', {
      inputs: (d) =>
        qkv(d).chain(([xs, [L, S]]) =>
          constant({ shape: [L, S], dtype: d }).map((mask) => makeCase([...xs, mask], 'additive mask', (q, k, v, mask) => scaledDotProductAttention(q!, k!, v!, { attnMask: mask! }))),
        ),
    });
    prop('additive mask that requires grad', {
      inputs: (d) => qkv(d).chain(([xs, [L, S]]) => leaf(d, { shape: [L, S] }).map((mask) => [...xs, mask])),
      fn: (q, k, v, mask) => scaledDotProductAttention(q, k, v, { attnMask: mask }),
    });
  });
});

/** A bool row [S] that is true only at key 0 (broadcasts over the queries). */
function firstKey(S: number, device: string): Tensor {
  const data = new Uint8Array(S);
  data[0] = 1;
  return tensor(data, { dtype: 'bool', device });
}
