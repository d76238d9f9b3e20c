/**
 * Property-based gradient checks of the indexing ops (gather/scatter family, masks, triangles, cumsum, sorting)
 * and of joining, splitting, padding and tiling, over random shapes, indices and layouts.
 */
import fc from 'fast-check';
import { describe } from 'vitest';
import { cat, pad, stack, tensor, type PadMode, type Tensor } from '@tessera/core';
import { broadcastShapesArb } from '@tessera/core/testing';
import { BACKENDS } from '../support/backends.js';
import { constant, gradProperty, leaf, leavesOf, makeCase, SMALL, type FloatDtype, type GradSpec } from './harness.js';

const wrap = (dim: number, ndim: number) => (dim < 0 ? dim + ndim : dim);

/** int32 indices in [0, n) of a given shape, in any layout. */
const indices = (shape: readonly number[], n: number) => constant({ shape, dtype: 'int32', min: 0, max: n - 1, step: 1 });

/** A 1-D int32 index with entries in [0, n) (duplicates allowed). */
const index1d = (n: number, maxLen = 4) => fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: maxLen });

/** x, a dim, and an index shape for gather/scatter along it (index.size(d) ≤ x.size(d) for d ≠ dim). */
function alongWithIndexShape(d: FloatDtype, maxAlong: (n: number) => number) {
  return leaf(d, { minDims: 1 }).chain((x) =>
    fc.integer({ min: -x.ndim, max: x.ndim - 1 }).chain((dim) => {
      const w = wrap(dim, x.ndim);
      const sizes = x.shape.map((s, i) => fc.integer({ min: 1, max: i === w ? maxAlong(s) : s }));
      return fc.tuple(fc.constant(x), fc.constant(dim), fc.tuple(...sizes));
    }),
  );
}

/**
 * An index for scatter along `dim` whose entries are distinct within every slice along dim (duplicates would make
 * the result depend on write order): each slice takes the first k entries of a random permutation of 0..n-1.
 */
function distinctIndex(shape: readonly number[], dim: number, n: number): fc.Arbitrary<Tensor> {
  const k = shape[dim]!;
  const lines = shape.reduce((a, s) => a * s, 1) / k;
  const perm = fc
    .array(fc.integer({ min: 0, max: 1000 }), { minLength: n, maxLength: n })
    .map((keys) => keys.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b).slice(0, k));
  return fc.array(perm, { minLength: lines, maxLength: lines }).map((ps) => {
    // Laid out with `dim` last, then permuted back: a non-contiguous index.
    const moved = [...shape.slice(0, dim), ...shape.slice(dim + 1), k];
    const order = shape.map((_, i) => (i < dim ? i : i === dim ? shape.length - 1 : i - 1));
    return tensor(Int32Array.from(ps.flat()), { shape: moved }).permute(order);
  });
}

const padModes: PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

describe.each(BACKENDS)('indexing and joining gradients on %s', (backend) => {
  const prop = (name: string, spec: GradSpec) => gradProperty(backend, name, spec);

  describe('gather and scatter family', () => {
    prop('gather', {
      inputs: (d) =>
        alongWithIndexShape(d, () => 4).chain(([x, dim, shape]) =>
          indices(shape, x.shape[wrap(dim, x.ndim)]!).map((idx) => makeCase([x, idx], `dim=${dim}`, (x, idx) => x.gather(dim, idx!))),
        ),
    });
    prop('scatter (distinct indices per slice) into x, from src and from a scalar', {
      inputs: (d) =>
        alongWithIndexShape(d, (n) => n).chain(([x, dim, shape]) =>
          fc.tuple(distinctIndex(shape, wrap(dim, x.ndim), x.shape[wrap(dim, x.ndim)]!), leaf(d, { shape })).map(([idx, src]) =>
            makeCase([x, src, idx], `dim=${dim}`, (x, s, idx) => [x.scatter(dim, idx!, s!), x.scatter(dim, idx!, 2.5)]),
          ),
        ),
    });
    prop('scatterAdd (duplicate indices accumulate)', {
      inputs: (d) =>
        alongWithIndexShape(d, () => 4).chain(([x, dim, shape]) =>
          fc.tuple(indices(shape, x.shape[wrap(dim, x.ndim)]!), leaf(d, { shape })).map(([idx, src]) =>
            makeCase([x, src, idx], `dim=${dim}`, (x, s, idx) => x.scatterAdd(dim, idx!, s!)),
          ),
        ),
    });
    prop('indexSelect', {
      inputs: (d) =>
        leaf(d, { minDims: 1 }).chain((x) =>
          fc.integer({ min: -x.ndim, max: x.ndim - 1 }).chain((dim) =>
            index1d(x.shape[wrap(dim, x.ndim)]!).map((ix) => makeCase([x], `dim=${dim}, index=[${ix}]`, (x) => x.indexSelect(dim, tensor(Int32Array.from(ix), { device: x.device })))),
          ),
        ),
    });
    prop('indexAdd with alpha', {
      inputs: (d) =>
        leaf(d, { minDims: 1 }).chain((x) =>
          fc.integer({ min: 0, max: x.ndim - 1 }).chain((dim) =>
            index1d(x.shape[dim]!).chain((ix) =>
              leaf(d, { shape: x.shape.map((s, i) => (i === dim ? ix.length : s)) }).map((src) =>
                makeCase([x, src], `dim=${dim}, index=[${ix}]`, (x, s) => {
                  const index = tensor(Int32Array.from(ix), { device: x.device });
                  return [x.indexAdd(dim, index, s!), x.indexAdd(dim, index, s!, -2)];
                }),
              ),
            ),
          ),
        ),
    });
    prop('maskedFill with a scalar and with a 0-dim tensor that requires grad', {
      inputs: (d) =>
        broadcastShapesArb(2, SMALL).chain(([sx, sm]) => {
          // The mask must broadcast to x's shape: give x the full broadcast shape.
          const full = sx.length >= sm.length ? sx.map((s, i) => Math.max(s, sm[i - (sx.length - sm.length)] ?? 1)) : sm.map((s, i) => Math.max(s, sx[i - (sm.length - sx.length)] ?? 1));
          return fc.tuple(leaf(d, { shape: full }), leaf(d, { shape: [] }), constant({ shape: sm, dtype: 'bool', min: 0, max: 1, step: 1 })).map(([x, v, mask]) =>
            makeCase([x, v, mask], 'maskedFill', (x, v, mask) => [x.maskedFill(mask!, -1.5), x.maskedFill(mask!, v!)]),
          );
        }),
    });
    prop('triu and tril', {
      inputs: (d) =>
        fc.tuple(leaf(d, { minDims: 2 }), fc.integer({ min: -2, max: 2 })).map(([x, k]) => makeCase([x], `diagonal=${k}`, (x) => [x.triu(k), x.tril(k)])),
    });
    prop('cumsum', {
      inputs: (d) => leaf(d, { minDims: 1 }).chain((x) => fc.integer({ min: -x.ndim, max: x.ndim - 1 }).map((dim) => makeCase([x], `dim=${dim}`, (x) => x.cumsum(dim)))),
    });
    prop('sort (values)', {
      inputs: (d) =>
        leaf(d, { minDims: 1, distinct: true }).chain((x) =>
          fc.tuple(fc.integer({ min: -x.ndim, max: x.ndim - 1 }), fc.boolean()).map(([dim, desc]) => makeCase([x], `dim=${dim}, descending=${desc}`, (x) => x.sort(dim, desc).values)),
        ),
    });
    prop('topk (values)', {
      inputs: (d) =>
        leaf(d, { minDims: 1, distinct: true }).chain((x) =>
          fc.integer({ min: -x.ndim, max: x.ndim - 1 }).chain((dim) =>
            fc.tuple(fc.integer({ min: 0, max: x.shape[wrap(dim, x.ndim)]! }), fc.boolean()).map(([k, largest]) =>
              makeCase([x], `k=${k}, dim=${dim}, largest=${largest}`, (x) => x.topk(k, dim, largest).values),
            ),
          ),
        ),
    });
  });

  describe('joining, splitting, padding, tiling', () => {
    prop('cat (1 to 3 tensors, sizes may be 0 along dim)', {
      inputs: (d) =>
        leaf(d, { minDims: 1 }).chain((x) =>
          fc.tuple(fc.integer({ min: -x.ndim, max: x.ndim - 1 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 2 })).chain(([dim, sizes]) =>
            leavesOf(d, sizes.map((s) => x.shape.map((v, i) => (i === wrap(dim, x.ndim) ? s : v)))).map((rest) =>
              makeCase([x, ...rest], `dim=${dim}`, (...ts) => cat(ts, dim)),
            ),
          ),
        ),
    });
    prop('stack', {
      inputs: (d) =>
        leaf(d).chain((x) =>
          fc.tuple(fc.integer({ min: -x.ndim - 1, max: x.ndim }), fc.integer({ min: 0, max: 2 })).chain(([dim, extra]) =>
            leavesOf(d, new Array<number[]>(extra).fill([...x.shape])).map((rest) => makeCase([x, ...rest], `dim=${dim}`, (...ts) => stack(ts, dim))),
          ),
        ),
    });
    prop('split (by size and by sections) and chunk', {
      inputs: (d) =>
        leaf(d, { minDims: 1 }).chain((x) =>
          fc.integer({ min: -x.ndim, max: x.ndim - 1 }).chain((dim) => {
            const n = x.shape[wrap(dim, x.ndim)]!;
            return fc.tuple(fc.integer({ min: 1, max: n + 1 }), fc.integer({ min: 0, max: n })).map(([size, cut]) =>
              makeCase([x], `dim=${dim}, size=${size}, sections=[${cut}, ${n - cut}]`, (x) => [...x.split(size, dim), ...x.split([cut, n - cut], dim), ...x.chunk(size, dim)]),
            );
          }),
        ),
    });
    for (const mode of padModes)
      prop(`pad (${mode}, negative pads crop)`, {
        inputs: (d) =>
          leaf(d, { minDims: 1, minSide: 2 }).chain((x) =>
            fc.integer({ min: 1, max: Math.min(2, x.ndim) }).chain((k) => {
              const pads = x.shape.slice(-k).reverse().flatMap((n) => {
                const lo = -Math.floor((n - 1) / 2);
                const hi = mode === 'reflect' ? n - 1 : mode === 'constant' ? 2 : 3;
                return [fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi })];
              });
              return fc.tuple(...pads).map((p) => makeCase([x], `pads=[${p}]`, (x) => pad(x, p, mode, mode === 'constant' ? 0.5 : 0)));
            }),
          ),
      });
    prop('repeat (with extra leading dims)', {
      inputs: (d) =>
        leaf(d, { maxSize: 6 }).chain((x) =>
          fc.tuple(fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 1 }), fc.array(fc.integer({ min: 1, max: 2 }), { minLength: x.ndim, maxLength: x.ndim })).map(([lead, reps]) =>
            makeCase([x], `repeats=[${[...lead, ...reps]}]`, (x) => x.repeat([...lead, ...reps])),
          ),
        ),
    });
    prop('repeatInterleave (count, per-element counts, flattened)', {
      inputs: (d) =>
        leaf(d, { minDims: 1 }).chain((x) =>
          fc.integer({ min: 0, max: x.ndim - 1 }).chain((dim) =>
            fc.tuple(fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: x.shape[dim]!, maxLength: x.shape[dim]! })).map(([r, rs]) =>
              makeCase([x], `dim=${dim}, repeats=${r} / [${rs}]`, (x) => [x.repeatInterleave(r, dim), x.repeatInterleave(rs, dim), x.repeatInterleave(2)]),
            ),
          ),
        ),
    });
  });
});

