/** Golden-case op table, part 1: elementwise ops and reductions (fixture op name → the Tessera call). */
import * as ts from '@tessera/core';
import { L, T, type OpFn } from './fixture.js';

const binary = (fn: (a: ts.TensorLike, b: ts.TensorLike) => ts.Tensor): OpFn => (x) => fn(L(x[0]!), L(x[1]!));
const unary = (fn: (a: ts.Tensor) => ts.Tensor): OpFn => (x) => fn(T(x[0]!));
const UNARY = [
  'neg', 'abs', 'sign', 'floor', 'ceil', 'round', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh',
  'sigmoid', 'erf', 'reciprocal', 'square', 'relu', 'silu', 'logicalNot', 'isnan',
] as const;

export const ELEMENTWISE_OPS: Record<string, OpFn> = {
  add: (x, a) => ts.add(L(x[0]!), L(x[1]!), a.alpha),
  sub: (x, a) => ts.sub(L(x[0]!), L(x[1]!), a.alpha),
  mul: binary(ts.mul),
  div: binary(ts.div),
  pow: binary(ts.pow),
  maximum: binary(ts.maximum),
  minimum: binary(ts.minimum),
  eq: binary(ts.eq),
  ne: binary(ts.ne),
  lt: binary(ts.lt),
  le: binary(ts.le),
  gt: binary(ts.gt),
  ge: binary(ts.ge),
  logicalAnd: binary(ts.logicalAnd),
  logicalOr: binary(ts.logicalOr),
  logicalXor: binary(ts.logicalXor),
  where: (x) => ts.where(T(x[0]!), L(x[1]!), L(x[2]!)),
  clamp: (x) => ts.clamp(T(x[0]!), x[1] as ts.TensorLike | null, x[2] as ts.TensorLike | null),
  ...Object.fromEntries(UNARY.map((name) => [name, unary(ts[name])])),
  gelu: (x, a) => ts.gelu(T(x[0]!), a.approximate),
  leakyRelu: (x, a) => ts.leakyRelu(T(x[0]!), a.negativeSlope),
  softplus: (x, a) => ts.softplus(T(x[0]!), a.beta, a.threshold),
};

export const REDUCE_OPS: Record<string, OpFn> = {
  sum: (x, a) => ts.sum(T(x[0]!), a.dim, a.keepdim),
  mean: (x, a) => ts.mean(T(x[0]!), a.dim, a.keepdim),
  prod: (x, a) => ts.prod(T(x[0]!), a.dim, a.keepdim),
  amax: (x, a) => ts.amax(T(x[0]!), a.dim, a.keepdim),
  amin: (x, a) => ts.amin(T(x[0]!), a.dim, a.keepdim),
  max: (x) => T(x[0]!).max(),
  min: (x) => T(x[0]!).min(),
  maxDim: (x, a) => ts.maxDim(T(x[0]!), a.dim, a.keepdim),
  minDim: (x, a) => ts.minDim(T(x[0]!), a.dim, a.keepdim),
  argmax: (x, a) => ts.argmax(T(x[0]!), a.dim, a.keepdim),
  argmin: (x, a) => ts.argmin(T(x[0]!), a.dim, a.keepdim),
  all: (x, a) => ts.all(T(x[0]!), a.dim, a.keepdim),
  any: (x, a) => ts.any(T(x[0]!), a.dim, a.keepdim),
  variance: (x, a) => ts.variance(T(x[0]!), a.dim, { correction: a.correction, keepdim: a.keepdim }),
  std: (x, a) => ts.std(T(x[0]!), a.dim, { correction: a.correction, keepdim: a.keepdim }),
  logsumexp: (x, a) => ts.logsumexp(T(x[0]!), a.dim, a.keepdim),
  norm: (x, a) => ts.norm(T(x[0]!), a.p, a.dim, a.keepdim),
  sumTo: (x, a) => ts.sumTo(T(x[0]!), a.shape),
};
