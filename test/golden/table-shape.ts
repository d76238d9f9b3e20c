/** Golden-case op table, part 2: views, indexing, joining and padding (fixture op name → the Tessera call). */
import * as ts from '@tessera/core';
import { L, T, type OpFn } from './fixture.js';

export const VIEW_OPS: Record<string, OpFn> = {
  view: (x, a) => ts.view(T(x[0]!), a.shape),
  reshape: (x, a) => ts.reshape(T(x[0]!), a.shape),
  flatten: (x, a) => ts.flatten(T(x[0]!), a.startDim, a.endDim),
  unflatten: (x, a) => ts.unflatten(T(x[0]!), a.dim, a.sizes),
  squeeze: (x, a) => ts.squeeze(T(x[0]!), a.dim),
  unsqueeze: (x, a) => ts.unsqueeze(T(x[0]!), a.dim),
  permute: (x, a) => ts.permute(T(x[0]!), a.dims),
  transpose: (x, a) => ts.transpose(T(x[0]!), a.dim0, a.dim1),
  mT: (x) => T(x[0]!).mT,
  T: (x) => T(x[0]!).T,
  t: (x) => T(x[0]!).t(),
  expand: (x, a) => ts.expand(T(x[0]!), a.shape),
  narrow: (x, a) => ts.narrow(T(x[0]!), a.dim, a.start, a.length),
  select: (x, a) => ts.select(T(x[0]!), a.dim, a.index),
  slice: (x, a) => ts.slice(T(x[0]!), a.dim, a.start, a.end, a.step),
  index: (x, a) => T(x[0]!).index(...(a.specs as ts.IndexSpec[])),
  flip: (x, a) => ts.flip(T(x[0]!), a.dims),
  diagonal: (x, a) => ts.diagonal(T(x[0]!), a.offset, a.dim1, a.dim2),
  asStrided: (x, a) => ts.asStrided(T(x[0]!), a.size, a.stride, a.storageOffset),
  contiguous: (x) => ts.contiguous(T(x[0]!)),
  clone: (x) => ts.clone(T(x[0]!)),
  detach: (x) => ts.detach(T(x[0]!)),
};

export const INDEXING_OPS: Record<string, OpFn> = {
  gather: (x, a) => ts.gather(T(x[0]!), a.dim, T(x[1]!)),
  scatter: (x, a) => ts.scatter(T(x[0]!), a.dim, T(x[1]!), L(x[2]!)),
  scatterAdd: (x, a) => ts.scatterAdd(T(x[0]!), a.dim, T(x[1]!), T(x[2]!)),
  indexSelect: (x, a) => ts.indexSelect(T(x[0]!), a.dim, T(x[1]!)),
  indexAdd: (x, a) => ts.indexAdd(T(x[0]!), a.dim, T(x[1]!), T(x[2]!), a.alpha),
  maskedFill: (x) => ts.maskedFill(T(x[0]!), T(x[1]!), L(x[2]!)),
  triu: (x, a) => ts.triu(T(x[0]!), a.diagonal),
  tril: (x, a) => ts.tril(T(x[0]!), a.diagonal),
  oneHot: (x, a) => ts.oneHot(T(x[0]!), a.numClasses),
  cumsum: (x, a) => ts.cumsum(T(x[0]!), a.dim),
  sort: (x, a) => ts.sort(T(x[0]!), a.dim, a.descending),
  argsort: (x, a) => ts.argsort(T(x[0]!), a.dim, a.descending),
  topk: (x, a) => ts.topk(T(x[0]!), a.k, a.dim, a.largest),
};

export const JOIN_OPS: Record<string, OpFn> = {
  cat: (x, a) => ts.cat(x.map(T), a.dim),
  stack: (x, a) => ts.stack(x.map(T), a.dim),
  split: (x, a) => ts.split(T(x[0]!), a.sizeOrSections, a.dim),
  chunk: (x, a) => ts.chunk(T(x[0]!), a.chunks, a.dim),
  pad: (x, a) => ts.pad(T(x[0]!), a.pads, a.mode, a.value),
  repeat: (x, a) => ts.repeat(T(x[0]!), a.repeats),
  repeatInterleave: (x, a) => ts.repeatInterleave(T(x[0]!), a.repeats, a.dim),
};
