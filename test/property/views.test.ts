/**
 * Property-based gradient checks of every view op (and contiguous/clone/to), over random shapes, arguments and
 * input layouts — including views of views and overlapping asStrided windows.
 */
import fc from 'fast-check';
import { describe } from 'vitest';
import { asStrided, type Tensor } from '@tessera/core';
import { BACKENDS, hasFloat64 } from '../support/backends.js';
import { gradProperty, leaf, makeCase, type FloatDtype, type GradSpec } from './harness.js';

type LeafOpts = Parameters<typeof leaf>[1];

/** Draws a leaf, then the op's arguments from it, and packages both as a case. */
function viewCase<A>(
  d: FloatDtype,
  args: (x: Tensor) => fc.Arbitrary<A>,
  f: (x: Tensor, a: A) => Tensor | Tensor[],
  opts: LeafOpts = {},
): fc.Arbitrary<ReturnType<typeof makeCase>> {
  return leaf(d, opts).chain((x) => args(x).map((a) => makeCase([x], `args=${JSON.stringify(a)}`, (x) => f(x, a))));
}

const dimOf = (x: Tensor) => fc.integer({ min: -x.ndim, max: x.ndim - 1 });
const permutationOf = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: n, maxLength: n }).map((keys) => keys.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b));
const norm = (x: Tensor, dim: number) => (dim < 0 ? dim + x.ndim : dim);

/** Factorizations of n into two factors, for view/unflatten. */
const splitsOf = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((f) => n % f === 0).map((f) => [f, n / f] as const);

describe.each(BACKENDS)('view gradients on %s', (backend) => {
  const prop = (name: string, spec: GradSpec) => gradProperty(backend, name, spec);
  const one = <A,>(args: (x: Tensor) => fc.Arbitrary<A>, f: (x: Tensor, a: A) => Tensor | Tensor[], opts?: LeafOpts): GradSpec => ({
    inputs: (d) => viewCase(d, args, f, opts),
  });

  prop('reshape (any layout, copies when needed)', one((x) => fc.constantFrom(...splitsOf(x.numel())), (x, s) => x.reshape([...s])));
  prop('reshape to -1 and back', one(() => fc.constant(0), (x) => x.reshape([-1]).mul(2).reshape([...x.shape])));
  prop('view of a contiguous tensor', one((x) => fc.constantFrom(...splitsOf(x.numel())), (x, s) => x.contiguous().view([...s])));
  prop('permute', one((x) => permutationOf(x.ndim), (x, p) => x.permute(p)));
  prop('transpose', one((x) => fc.tuple(dimOf(x), dimOf(x)), (x, [a, b]) => x.transpose(a, b), { minDims: 1 }));
  prop('mT and T', one(() => fc.constant(0), (x) => [x.mT, x.T], { minDims: 2 }));
  prop('expand (new leading dims and size-1 dims)', {
    inputs: (d) =>
      viewCase(
        d,
        (x) => fc.tuple(fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 2 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: x.ndim, maxLength: x.ndim })),
        (x, [lead, sizes]) => x.expand([...(lead), ...x.shape.map((s, i) => (s === 1 ? (sizes)[i]! : i % 2 ? -1 : s))]),
        { maxSide: 2 },
      ),
  });
  prop('narrow', {
    inputs: (d) =>
      viewCase(
        d,
        (x) => dimOf(x).chain((dim) => fc.integer({ min: 0, max: x.shape[norm(x, dim)]! }).chain((start) => fc.tuple(fc.constant(dim), fc.constant(start), fc.integer({ min: 0, max: x.shape[norm(x, dim)]! - start })))),
        (x, [dim, start, len]) => x.narrow(dim, start, len),
        { minDims: 1 },
      ),
  });
  prop('select', {
    inputs: (d) =>
      viewCase(d, (x) => dimOf(x).chain((dim) => fc.tuple(fc.constant(dim), fc.integer({ min: -x.shape[norm(x, dim)]!, max: x.shape[norm(x, dim)]! - 1 }))), (x, [dim, i]) => x.select(dim, i), { minDims: 1 }),
  });
  prop('slice with positive and negative steps', {
    inputs: (d) =>
      viewCase(
        d,
        (x) => fc.tuple(dimOf(x), fc.option(fc.integer({ min: -5, max: 5 })), fc.option(fc.integer({ min: -5, max: 5 })), fc.constantFrom(1, 2, 3, -1, -2)),
        (x, [dim, start, end, step]) => x.slice(dim, start, end, step),
        { minDims: 1, maxSide: 4 },
      ),
  });
  prop('index with slices, null and ...', one(() => fc.constant(0), (x) => [x.index('::-1'), x.index(null, '...', '1:'), x.index(0, '::2')], { minDims: 2, minSide: 2 }));
  prop('flip', one((x) => fc.subarray(x.shape.map((_, i) => i)), (x, dims) => x.flip(dims)));
  prop('squeeze and unsqueeze', {
    inputs: (d) => viewCase(d, (x) => fc.integer({ min: -x.ndim - 1, max: x.ndim }), (x, dim) => [x.unsqueeze(dim), x.squeeze(), x.unsqueeze(dim).squeeze(dim)], { maxSide: 2 }),
  });
  prop('flatten and unflatten', {
    inputs: (d) =>
      viewCase(
        d,
        (x) => fc.tuple(fc.integer({ min: 0, max: x.ndim - 1 }), fc.integer({ min: 0, max: x.ndim - 1 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]),
        (x, [s, e]) => {
          const flat = x.flatten(s, e);
          return [flat, flat.unflatten(s!, x.shape.slice(s, e! + 1))];
        },
        { minDims: 1 },
      ),
  });
  prop('diagonal with offsets and dims', {
    inputs: (d) =>
      viewCase(
        d,
        (x) => fc.tuple(fc.integer({ min: -2, max: 2 }), fc.integer({ min: 0, max: x.ndim - 1 }), fc.integer({ min: 0, max: x.ndim - 1 })).filter(([, a, b]) => a !== b),
        (x, [o, a, b]) => x.diagonal(o, a, b),
        { minDims: 2 },
      ),
  });
  prop('asStrided (including overlapping windows)', {
    inputs: (d) =>
      leaf(d, { shape: [6], layouts: ['contiguous'] }).chain((x) =>
        fc
          .constantFrom(
            { size: [3, 2], stride: [2, 1], offset: 0 },
            { size: [4, 3], stride: [1, 1], offset: 0 }, // sliding windows: elements read up to 3 times
            { size: [2, 2], stride: [0, 2], offset: 1 }, // stride 0: a row read twice
            { size: [3], stride: [2], offset: 1 },
            { size: [2, 3], stride: [1, 2], offset: 0 },
          )
          .map((a) => makeCase([x], JSON.stringify(a), (x) => asStrided(x, a.size, a.stride, a.offset))),
      ),
  });
  prop('asStrided of a strided leaf (storage-relative)', {
    // A flipped leaf: asStrided addresses its storage directly, so the view reads the values in storage order.
    layoutDependent: true,
    inputs: (d) => leaf(d, { shape: [2, 3], layouts: ['flipped', 'transposed'] }).map((x) => makeCase([x], 'size [3, 2], stride [1, 2]', (x) => x.asStrided([3, 2], [1, 2], 0))),
  });
  prop('views of views', one(() => fc.constant(0), (x) => {
    const y = x.mT.flip(-1).slice(0, null, null, 2);
    return y.unsqueeze(0).expand([2, ...y.shape]).diagonal(0, 0, 1);
  }, { minDims: 2 }));
  prop('contiguous and clone', one(() => fc.constant(0), (x) => [x.contiguous(), x.clone(), x.clone().mul(x)]));
  if (hasFloat64(backend)) prop('to(float64) is the identity for autograd', one(() => fc.constant(0), (x) => x.to('float64').mul(3)));
});
