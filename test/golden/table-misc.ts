/**
 * Golden-case op table, part 3: linear algebra, fused ops, casts, creation and in-place ops (fixture op name → the
 * Tessera call). Creation ops take the case's device; in-place ops return the tensor they wrote into.
 */
import * as ts from '@tessera/core';
import { L, T, type OpFn } from './fixture.js';

const inPlace = (fn: (t: ts.Tensor, ...rest: ts.TensorLike[]) => ts.Tensor): OpFn => (x) => fn(T(x[0]!), ...x.slice(1).map((v) => L(v)));

export const LINALG_FUSED_OPS: Record<string, OpFn> = {
  matmul: (x) => ts.matmul(T(x[0]!), T(x[1]!)),
  einsum: (x, a) => ts.einsum(a.equation, ...x.map(T)),
  dot: (x) => ts.dot(T(x[0]!), T(x[1]!)),
  outer: (x) => ts.outer(T(x[0]!), T(x[1]!)),
  softmax: (x, a) => ts.softmax(T(x[0]!), a.dim),
  logSoftmax: (x, a) => ts.logSoftmax(T(x[0]!), a.dim),
  layerNorm: (x, a) => ts.layerNorm(T(x[0]!), a.normalizedShape, x[1] ? T(x[1]) : null, x[2] ? T(x[2]) : null, a.eps),
  rmsNorm: (x, a) => ts.rmsNorm(T(x[0]!), a.normalizedShape, x[1] ? T(x[1]) : null, a.eps),
  scaledDotProductAttention: (x, a) =>
    ts.scaledDotProductAttention(T(x[0]!), T(x[1]!), T(x[2]!), { attnMask: x[3] ? T(x[3]) : null, isCausal: a.isCausal, scale: a.scale }),
};

export const CAST_CREATION_OPS: Record<string, OpFn> = {
  toDtype: (x, a) => ts.toDtype(T(x[0]!), a.dtype),
  arange: (_, a, { device }) => ts.arange(a.range[0], a.range[1], a.range[2], { device }),
  linspace: (_, a, { device }) => ts.linspace(a.start, a.end, a.steps, { device }),
  eye: (_, a, { device }) => ts.eye(a.n, a.m, { device }),
  full: (_, a, { device }) => ts.full(a.shape, a.value, { device, dtype: a.dtype }),
  zeros: (_, a, { device }) => ts.zeros(a.shape, { device }),
  ones: (_, a, { device }) => ts.ones(a.shape, { device }),
  zerosLike: (x) => ts.zerosLike(T(x[0]!)),
  onesLike: (x) => ts.onesLike(T(x[0]!)),
  fullLike: (x, a) => ts.fullLike(T(x[0]!), a.value),
};

export const INPLACE_OPS: Record<string, OpFn> = {
  add_: inPlace((t, o) => t.add_(o!)),
  sub_: inPlace((t, o) => t.sub_(o!)),
  mul_: inPlace((t, o) => t.mul_(o!)),
  div_: inPlace((t, o) => t.div_(o!)),
  clamp_: inPlace((t, lo, hi) => t.clamp_(lo, hi)),
  copy_: inPlace((t, s) => t.copy_(s!)),
  fill_: (x, a) => T(x[0]!).fill_(a.value),
  zero_: (x) => T(x[0]!).zero_(),
};
