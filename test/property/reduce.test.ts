/**
 * Property-based gradient checks of the reductions, over random shapes, reduced dims (positive, negative, several,
 * all), keepdim and memory layouts. Ops whose gradient picks a winner (max, min, norm ∞) get distinct values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grad, setBackend, tensor, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { gradProperty, leaf, makeCase, type FloatDtype, type GradSpec } from './harness.js';

type LeafOpts = Parameters<typeof leaf>[1];

/** A leaf plus a valid dims argument for it: undefined (all), one dim (maybe negative), or a list of dims. */
function withDims(d: FloatDtype, opts: LeafOpts = {}) {
  return leaf(d, { minDims: 1, ...opts }).chain((x) => {
    const dim = fc.integer({ min: -x.ndim, max: x.ndim - 1 });
    const dims = fc.subarray(x.shape.map((_, i) => i), { minLength: 1 });
    return fc.tuple(fc.constant(x), fc.oneof(fc.constant(undefined), dim, dims), fc.boolean());
  });
}

/** A reduction checked with every dims form and keepdim. */
function reduction(name: string, f: (x: Tensor, dims: number | number[] | undefined, keepdim: boolean) => Tensor, opts: LeafOpts = {}, gradgrad = true): [string, GradSpec] {
  return [
    name,
    {
      inputs: (d) =>
        withDims(d, opts).map(([x, dims, keep]) => makeCase([x], `dims=${JSON.stringify(dims)}, keepdim=${keep}`, (x) => f(x, dims, keep))),
      gradgrad,
    },
  ];
}

/** An input plus one dim (maybe negative) along which it has at least `minLen` elements. */
function alongDim(d: FloatDtype, opts: LeafOpts = {}, minLen = 1) {
  return leaf(d, { minDims: 1, ...opts }).chain((x) => {
    const ok = x.shape.flatMap((s, i) => (s >= minLen ? [i, i - x.ndim] : []));
    return ok.length ? fc.tuple(fc.constant(x), fc.constantFrom(...ok), fc.boolean()) : fc.constant(null);
  }).filter((v): v is [Tensor, number, boolean] => v !== null);
}

function alongDimSpec(
  f: (x: Tensor, dim: number, keepdim: boolean) => Tensor | Tensor[],
  opts: LeafOpts = {},
  minLen = 1,
  gradgrad = true,
): GradSpec {
  return {
    inputs: (d) => alongDim(d, opts, minLen).map(([x, dim, keep]) => makeCase([x], `dim=${dim}, keepdim=${keep}`, (x) => f(x, dim, keep))),
    gradgrad,
  };
}

const distinct = { distinct: true } as const;

describe.each(BACKENDS)('reduction gradients on %s', (backend) => {
  const prop = (name: string, spec: GradSpec) => gradProperty(backend, name, spec);
  const reductions: [string, GradSpec][] = [
    reduction('sum', (x, dims, k) => x.sum(dims, k)),
    reduction('mean', (x, dims, k) => x.mean(dims, k)),
    reduction('prod', (x, dims, k) => x.prod(dims, k), { min: 0.5, max: 1.5 }),
    // Values on a 0.5-grid over [-2, 2]: zeros are common, including two zeros in one reduced slice.
    reduction('prod with zeros', (x, dims, k) => x.prod(dims, k), { step: 0.5 }),
    reduction('amax', (x, dims, k) => x.amax(dims, k), distinct),
    reduction('amin', (x, dims, k) => x.amin(dims, k), distinct),
    reduction('logsumexp', (x, dims, k) => x.logsumexp(dims, k)),
    reduction('norm p=2', (x, dims, k) => x.norm(2, dims, k), { minAbs: 0.1 }),
    reduction('norm p=1', (x, dims, k) => x.norm(1, dims, k), { minAbs: 0.1 }),
    // |x| distinct: a grid offset by 0.03 never holds both v and −v.
    reduction('norm p=inf', (x, dims, k) => x.norm(Infinity, dims, k), { distinct: true, step: 0.1, offset: 0.03 }),
    reduction('norm p=-inf', (x, dims, k) => x.norm(-Infinity, dims, k), { distinct: true, step: 0.1, offset: 0.03 }),
    reduction('norm p=3', (x, dims, k) => x.norm(3, dims, k), { minAbs: 0.1 }),
  ];
  for (const [name, spec] of reductions) prop(name, spec);

  prop('max over everything (no dim)', { inputs: (d) => leaf(d, distinct).map((x) => [x]), fn: (x) => [x.max(), x.min()] });
  prop('max with dim (values)', alongDimSpec((x, d, k) => x.max(d, k).values, distinct));
  prop('min with dim (values)', alongDimSpec((x, d, k) => x.min(d, k).values, distinct));
  prop('var, correction 1', alongDimSpec((x, d, k) => x.var(d, { correction: 1, keepdim: k }), {}, 2));
  prop('var, correction 0', alongDimSpec((x, d, k) => x.var(d, { correction: 0, keepdim: k }), {}, 1));
  // std needs a positive variance: distinct values and at least two per slice.
  prop('std, correction 1', alongDimSpec((x, d, k) => x.std(d, { correction: 1, keepdim: k }), distinct, 2));
  prop('std, correction 0', alongDimSpec((x, d, k) => x.std(d, { correction: 0, keepdim: k }), distinct, 2));
  prop('var and std over all dims', {
    inputs: (d) => leaf(d, { ...distinct, minDims: 1, minSide: 2 }).map((x) => [x]),
    fn: (x) => [x.var(), x.std(), x.var(undefined, { correction: 0 })],
  });
  prop('sum and mean of a 0-dim tensor', { inputs: (d) => leaf(d, { maxDims: 0 }).map((x) => [x]), fn: (x) => [x.sum(), x.mean(), x.prod()] });

  it('the gradient of a p-norm at the zero vector is 0, not NaN (like PyTorch)', async () => {
    setBackend(backend);
    for (const p of [2, 1, 3, Infinity])
      for (const shape of [[3], [2, 2]]) {
        const x = tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), { shape, requiresGrad: true });
        const [g] = grad(x.norm(p), x);
        expect(Array.from(await g!.data()), `p=${p}, shape [${shape}]`).toEqual(new Array(x.numel()).fill(0));
        const [gRows] = grad(x.reshape([1, -1]).norm(p, -1).sum(), x);
        expect(Array.from(await gRows!.data()), `p=${p} along a dim`).toEqual(new Array(x.numel()).fill(0));
      }
  });
});
