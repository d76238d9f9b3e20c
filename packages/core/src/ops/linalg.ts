/** matmul with PyTorch's 1-D / batched / broadcast rules, and einsum built on it. */
import { noGrad } from '../autograd/mode.js';
import { attach } from '../autograd/node.js';
import { resultType } from '../dtype.js';
import { ArgumentError, fmtShape, ShapeError } from '../errors.js';
import { broadcastShapes } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as prim from './prim.js';
import { sumTo } from './reduce.js';
import { viewStrides } from './views.js';

/**
 * Matrix product. 1-D × 1-D is a dot product; a 1-D first operand is a row vector and a 1-D second operand a
 * column vector (the added dim is removed again); batch dims broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0)
    throw new ShapeError(`matmul: both operands need at least 1 dim, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  let out = batchedMatmul(a2, b2, a, b);
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

function batchedMatmul(a: Tensor, b: Tensor, origA: Tensor, origB: Tensor): Tensor {
  const [m, k] = [a.shape.at(-2)!, a.shape.at(-1)!];
  const [k2, n] = [b.shape.at(-2)!, b.shape.at(-1)!];
  if (k !== k2)
    throw new ShapeError(
      `matmul: inner dims differ: shapes ${fmtShape(origA.shape)} and ${fmtShape(origB.shape)} (${k} vs ${k2}); ` +
        'expected a [..., M, K] and b [..., K, N]',
    );
  const [batchA, batchB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
  // The op label carries the full operand shapes; the batch shapes alone would not tell the user which call failed.
  // (Built only when the batch dims can disagree: a per-call string costs on the hot path.)
  const batch =
    batchB.length === 0
      ? batchA
      : batchA.length === 0
        ? batchB
        : broadcastShapes(`matmul (batch dims of ${fmtShape(origA.shape)} and ${fmtShape(origB.shape)})`, batchA, batchB);
  const dtype = resultType(a, b);
  if (dtype === 'bool') throw new ArgumentError('matmul: bool operands are not supported; cast to float or int32 first');
  const folded = foldBatchIntoRows(a, b, batch);
  if (folded) return folded;
  const backend = prim.backendOf('matmul', a, b);
  const va = prim.expandLayout('matmul', prim.cast(a, dtype), [...batch, m, k]);
  const vb = prim.expandLayout('matmul', prim.cast(b, dtype), [...batch, k, n]);
  const out = Tensor.fromBuffer(backend, backend.matmul(va.layout('matmul'), vb.layout('matmul'), dtype), [...batch, m, n], dtype);
  return attach(out, 'matmul', [a, b], (g) => [
    a.requiresGrad ? fitTo(g.matmul(b.mT), a) : null,
    b.requiresGrad ? fitTo(a.mT.matmul(g), b) : null,
  ]);
}

/**
 * a [..., K] times bᵀ for a 2-D b [N, K]: a Linear's x·Wᵀ. The same value as a.matmul(b.t()), but b's gradient is
 * one matmul gᵀ·a written in b's own [N, K] layout, so it becomes b.grad as it is; through b.t() it would arrive
 * as a transposed view that autograd has to copy.
 */
export function matmulNT(a: Tensor, b: Tensor): Tensor {
  const k = a.shape.at(-1)!;
  const fast = b.ndim === 2 && a.ndim >= 2 && b.shape[1] === k && a.dtype === b.dtype && a.numel() > 0;
  if (!fast || !viewStrides(a.shape, a.strides, [a.numel() / k, k])) return matmul(a, b.t());
  const rows = a.ndim === 2 ? a : a.reshape([-1, k]);
  const out = attach(noGrad(() => matmul(rows, b.t())), 'matmul', [rows, b], (g) => [
    rows.requiresGrad ? g.matmul(b) : null,
    b.requiresGrad ? g.mT.matmul(rows) : null,
  ]);
  return a.ndim === 2 ? out : out.reshape([...a.shape.slice(0, -1), b.shape[0]!]);
}

/**
 * a [...batch, M, K] times a b with no batch of its own (a Linear's weight): one [batch·M, K] × [K, N] matmul
 * when a's rows reshape as a view. Its gradient for b is then one matmul over all rows, instead of a matmul per
 * batch entry and a sum over the batch; null when the fold does not apply.
 */
function foldBatchIntoRows(a: Tensor, b: Tensor, batch: readonly number[]): Tensor | null {
  if (a.ndim <= 2 || b.ndim > a.ndim || b.shape.slice(0, -2).some((s) => s !== 1)) return null;
  const [m, k, n] = [a.shape.at(-2)!, a.shape.at(-1)!, b.shape.at(-1)!];
  const rows = [a.numel() / k, k];
  if (a.numel() === 0 || !viewStrides(a.shape, a.strides, rows)) return null;
  const b2 = b.ndim === 2 ? b : b.reshape([k, n]);
  return a.reshape(rows).matmul(b2).reshape([...batch, m, n]);
}

const fitTo = (g: Tensor, like: Tensor) => {
  const s = sumTo(g, like.shape);
  return s.dtype === like.dtype ? s : s.to(like.dtype);
};

/**
 * Einstein summation over any number of operands, e.g. 'bhqd,bhkd->bhqk'. Supports implicit output (sorted
 * letters that appear once), '...' for leading broadcast dims, and repeated letters within an operand (diagonals).
 * Operands are contracted left to right through matmul, so gradients come from matmul's.
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhsGiven] = eq.split('->') as [string, string | undefined];
  const inputs = lhs.split(',');
  if (inputs.length !== operands.length)
    throw new ArgumentError(`einsum: '${equation}' names ${inputs.length} operands but ${operands.length} were given`);
  // Expand '...' into fresh capital letters, right-aligned across operands.
  const ellDims = Math.max(0, ...inputs.map((s, i) => (s.includes('...') ? operands[i]!.ndim - (s.length - 3) : 0)));
  const ell = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.slice(26 - ellDims);
  const specs = inputs.map((s, i) => {
    if (!s.includes('...')) return s;
    const own = operands[i]!.ndim - (s.length - 3);
    return s.replace('...', ell.slice(ellDims - own));
  });
  specs.forEach((s, i) => {
    if (!/^[a-zA-Z]*$/.test(s) || s.length !== operands[i]!.ndim)
      throw new ShapeError(`einsum: subscripts '${inputs[i]}' do not match operand ${i} of shape ${fmtShape(operands[i]!.shape)}`);
  });
  const counts = new Map<string, number>();
  for (const s of specs) for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  const out =
    rhsGiven === undefined
      ? ell + [...counts.keys()].filter((c) => counts.get(c) === 1 && !ell.includes(c)).sort().join('')
      : rhsGiven.replace('...', ell);
  for (const c of out) if (!counts.has(c)) throw new ArgumentError(`einsum: output letter '${c}' does not appear in the inputs of '${equation}'`);

  // Size of each letter, checking consistency (1 broadcasts).
  const size = new Map<string, number>();
  specs.forEach((s, i) =>
    [...s].forEach((c, j) => {
      const n = operands[i]!.shape[j]!;
      const prev = size.get(c);
      if (prev !== undefined && prev !== n && prev !== 1 && n !== 1)
        throw new ShapeError(`einsum: letter '${c}' has sizes ${prev} and ${n} in '${equation}'`);
      if (prev === undefined || prev === 1) size.set(c, n);
    }),
  );

  let terms = operands.map((t, i) => takeDiagonals(t, specs[i]!));
  while (terms.length > 1) {
    const [x, y] = [terms[0]!, terms[1]!];
    const rest = terms.slice(2);
    const needed = new Set([...out, ...rest.flatMap((r) => [...r.spec])]);
    terms = [contractPair(x, y, needed, size), ...rest];
  }
  const last = terms[0]!;
  // Sum letters not in the output, then order as the output asks.
  const drop = [...last.spec].flatMap((c, i) => (out.includes(c) ? [] : [i]));
  let t = drop.length ? last.t.sum(drop) : last.t;
  const spec = [...last.spec].filter((c) => out.includes(c)).join('');
  t = t.permute([...out].map((c) => spec.indexOf(c)));
  return t;
}

interface Term {
  t: Tensor;
  spec: string;
}

/** Replaces repeated letters within one operand by their diagonal. */
function takeDiagonals(t: Tensor, spec: string): Term {
  let s = spec;
  let x = t;
  for (let i = 0; i < s.length; i++) {
    const j = s.indexOf(s[i]!, i + 1);
    if (j < 0) continue;
    x = x.diagonal(0, i, j);
    s = s.slice(0, i) + s.slice(i + 1, j) + s.slice(j + 1) + s[i];
    i = -1;
  }
  return { t: x, spec: s };
}

/** Contracts two operands: batch letters (kept, in both), contracted (in both, not needed), free (one side). */
function contractPair(a: Term, b: Term, needed: Set<string>, size: Map<string, number>): Term {
  // Sum away letters that only this operand has and nobody needs.
  const reduceOwn = (x: Term, other: Term): Term => {
    const idx = [...x.spec].flatMap((c, i) => (!needed.has(c) && !other.spec.includes(c) ? [i] : []));
    if (!idx.length) return x;
    return { t: x.t.sum(idx), spec: [...x.spec].filter((_, i) => !idx.includes(i)).join('') };
  };
  a = reduceOwn(a, b);
  b = reduceOwn(b, a);
  const batch = [...a.spec].filter((c) => b.spec.includes(c) && needed.has(c));
  const contract = [...a.spec].filter((c) => b.spec.includes(c) && !needed.has(c));
  const freeA = [...a.spec].filter((c) => !b.spec.includes(c));
  const freeB = [...b.spec].filter((c) => !a.spec.includes(c));
  const sz = (cs: string[]) => cs.reduce((p, c) => p * size.get(c)!, 1);
  const arrange = (x: Term, order: string[], shape: number[]) => {
    const p = order.map((c) => x.spec.indexOf(c));
    const full = order.map((c) => size.get(c)!);
    return x.t.permute(p).expand(full).reshape(shape);
  };
  const A = arrange(a, [...batch, ...freeA, ...contract], [sz(batch), sz(freeA), sz(contract)]);
  const B = arrange(b, [...batch, ...contract, ...freeB], [sz(batch), sz(contract), sz(freeB)]);
  const prod = A.matmul(B).reshape([...batch, ...freeA, ...freeB].map((c) => size.get(c)!));
  return { t: prod, spec: [...batch, ...freeA, ...freeB].join('') };
}

/** Dot product of two 1-D tensors. */
export function dot(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) throw new ShapeError(`dot: expected two 1-D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return matmul(a, b);
}

/** Outer product of two 1-D tensors. */
export function outer(a: Tensor, b: Tensor): Tensor {
  return a.reshape([-1, 1]).mul(b.reshape([1, -1]));
}

