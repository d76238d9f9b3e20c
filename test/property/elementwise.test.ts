/**
 * Property-based gradient checks of the elementwise ops over random shapes, broadcasts and memory layouts.
 * Value ranges keep inputs away from points where an op is not differentiable (ties, kinks, poles, jumps).
 */
import fc from 'fast-check';
import { describe } from 'vitest';
import { pow, type Tensor } from '@tessera/core';
import { broadcastShapesArb } from '@tessera/core/testing';
import { BACKENDS } from '../support/backends.js';
import { constant, gradProperty, leaf, leaves, SMALL, type FloatDtype, type GradSpec } from './harness.js';

/** One leaf as a one-element input list. */
const one = (opts: Parameters<typeof leaf>[1] = {}) => (d: FloatDtype) => leaf(d, opts).map((x) => [x]);

/** Grids with different offsets never tie: |a − b| ≥ 0.125 on every element pair. */
const untied = (d: FloatDtype) => leaves(d, 2, { step: 0.25 }, [{ offset: 0 }, { offset: 0.125 }]);

const unary: [string, (x: Tensor) => Tensor, Parameters<typeof leaf>[1]?][] = [
  ['neg', (x) => x.neg()],
  ['abs', (x) => x.abs(), { minAbs: 0.1 }],
  ['exp', (x) => x.exp()],
  ['log', (x) => x.log(), { min: 0.2, max: 3 }],
  ['log1p', (x) => x.log1p(), { min: -0.8, max: 2 }],
  ['expm1', (x) => x.expm1()],
  ['sqrt', (x) => x.sqrt(), { min: 0.2, max: 3 }],
  ['rsqrt', (x) => x.rsqrt(), { min: 0.2, max: 3 }],
  ['sin', (x) => x.sin(), { min: -4, max: 4 }],
  ['cos', (x) => x.cos(), { min: -4, max: 4 }],
  ['tanh', (x) => x.tanh()],
  ['sigmoid', (x) => x.sigmoid(), { min: -4, max: 4 }],
  ['relu', (x) => x.relu(), { minAbs: 0.1 }],
  ['leakyRelu (default slope)', (x) => x.leakyRelu(), { minAbs: 0.1 }],
  ['leakyRelu (slope 0.2)', (x) => x.leakyRelu(0.2), { minAbs: 0.1 }],
  ['gelu (erf)', (x) => x.gelu(), { min: -3, max: 3 }],
  ['gelu (tanh approximation)', (x) => x.gelu('tanh'), { min: -3, max: 3 }],
  ['silu', (x) => x.silu(), { min: -3, max: 3 }],
  ['softplus', (x) => x.softplus(), { min: -3, max: 3 }],
  ['softplus (beta 2, threshold 3)', (x) => x.softplus(2, 3)],
  ['erf', (x) => x.erf()],
  ['reciprocal', (x) => x.reciprocal(), { minAbs: 0.3 }],
  ['square', (x) => x.square()],
];

/** Piecewise-constant ops: zero gradient away from their jumps (values on a grid between them). */
const stepwise: [string, (x: Tensor) => Tensor][] = [
  ['sign', (x) => x.sign()],
  ['floor', (x) => x.floor()],
  ['ceil', (x) => x.ceil()],
  ['round', (x) => x.round()],
];

describe.each(BACKENDS)('elementwise gradients on %s', (backend) => {
  const prop = (name: string, spec: GradSpec) => gradProperty(backend, name, spec);

  describe('binary ops with broadcasting', () => {
    prop('add', { inputs: (d) => leaves(d, 2), fn: (a, b) => a.add(b) });
    prop('add with alpha and a scalar', { inputs: (d) => leaves(d, 2), fn: (a, b) => [a.add(b, 2.5), a.add(3)] });
    prop('sub', { inputs: (d) => leaves(d, 2), fn: (a, b) => [a.sub(b), a.sub(b, -0.5), b.sub(1.5)] });
    prop('mul', { inputs: (d) => leaves(d, 2), fn: (a, b) => [a.mul(b), a.mul(-3)] });
    prop('mul of a tensor with itself', { inputs: one(), fn: (a) => a.mul(a) });
    prop('div', { inputs: (d) => leaves(d, 2, {}, [{}, { minAbs: 0.5 }]), fn: (a, b) => a.div(b) });
    prop('div by a scalar and of a scalar', { inputs: one({ minAbs: 0.5 }), fn: (a) => [a.div(4), a.reciprocal().mul(2)] });
    prop('pow with a tensor exponent', {
      inputs: (d) => leaves(d, 2, {}, [{ min: 0.5, max: 2 }, { min: -2, max: 2 }]),
      fn: (a, b) => a.pow(b),
    });
    prop('pow with scalar exponents', {
      inputs: one({ min: 0.5, max: 2 }),
      fn: (x) => [x.pow(2), x.pow(3.5), x.pow(-1.5), x.pow(0.5), x.pow(1)],
    });
    prop('pow with integer exponents of any sign of base', { inputs: one(), fn: (x) => [x.pow(2), x.pow(3)] });
    prop('pow with a scalar base', { inputs: one(), fn: (x) => [pow(2.5, x), pow(0.5, x)] });
    prop('maximum', { inputs: untied, fn: (a, b) => a.maximum(b) });
    prop('minimum', { inputs: untied, fn: (a, b) => a.minimum(b) });
    prop('where (broadcast condition and branches)', {
      inputs: (d) =>
        broadcastShapesArb(3, SMALL).chain(([sc, sa, sb]) =>
          fc.tuple(constant({ shape: sc, dtype: 'bool', min: 0, max: 1, step: 1 }), leaf(d, { shape: sa }), leaf(d, { shape: sb })),
        ),
      fn: (c, a, b) => a.where(c, b),
    });
    prop('where with a scalar branch', {
      inputs: (d) => leaf(d).chain((x) => constant({ shape: x.shape, dtype: 'bool', min: 0, max: 1, step: 1 }).map((c) => [x, c])),
      fn: (x, c) => [x.where(c, 0.5), x.where(c.logicalNot(), -1)],
    });
    prop('clamp with scalar bounds', {
      // Bounds are multiples of 0.1 and x sits between them (offset 0.05), so no element touches a bound.
      inputs: one({ step: 0.1, offset: 0.05 }),
      fn: (x) => [x.clamp(-0.5, 0.7), x.clamp(-0.3), x.clamp(null, 0.2)],
    });
    prop('clamp with tensor bounds (broadcast, min may exceed max)', {
      inputs: (d) => leaves(d, 3, { step: 0.3 }, [{ offset: 0 }, { offset: 0.1 }, { offset: 0.2 }]),
      fn: (x, lo, hi) => x.clamp(lo, hi),
    });
    prop('zero-size tensors (broadcasting against empty dims)', {
      inputs: (d) => leaves(d, 2, { minSide: 0 }),
      fn: (a, b) => [a.mul(b).add(a), a.sub(b).sum()],
    });
    prop('clamp with one tensor bound', {
      inputs: (d) => leaves(d, 2, { step: 0.3 }, [{ offset: 0 }, { offset: 0.1 }]),
      fn: (x, b) => [x.clamp(b), x.clamp(null, b)],
    });
  });

  describe('unary ops', () => {
    for (const [name, f, opts] of unary) prop(name, { inputs: one(opts), fn: f });
    for (const [name, f] of stepwise)
      prop(`${name} (zero gradient)`, { inputs: one({ step: 0.5, offset: 0.25 }), fn: f, gradgrad: false });
  });
});
