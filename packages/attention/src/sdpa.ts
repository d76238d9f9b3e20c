/**
 * Scaled dot-product attention with PyTorch's semantics (spec §2), plus its sigmoid variant (spec §9.3).
 *
 * One core serves both: it validates shapes, builds the mask, then either hands the work to the backend's fused
 * `attention` kernel (its backward uses the backend's fused `attentionBackward` when no higher-order graph is
 * being built, else recomputes the probabilities with differentiable ops, so grad-of-grad still works) or runs the
 * composed path. Grouped-query attention never copies K/V in the composed path: the query heads are viewed as
 * [H_kv, g] and K/V broadcast over g, so K/V gradients are summed over each group by matmul's broadcast backward.
 *
 * Fully masked rows (no key allowed) produce an output row of 0 and zero gradients, instead of PyTorch's NaN.
 */
import {
  ArgumentError, broadcastShapes, customFunction, DTypeError, fmtShape, isFloat, isGradEnabled, noGrad, ShapeError, sumTo,
  Tensor, type Generator,
} from '@tessera/core';
import { dropout } from '@tessera/nn';
import { causalMask, toAdditiveMask, type CausalAlignment } from './masks.js';

export interface ScaledDotProductAttentionOptions {
  /** Bool mask (true = may attend) or additive float mask, broadcastable to [..., H_q, L, S]. */
  attnMask?: Tensor | null;
  /** Dropout probability on the attention weights (default 0). */
  dropoutP?: number;
  /** Apply a causal mask; cannot be combined with attnMask (as in PyTorch). */
  isCausal?: boolean;
  /** Alignment of the causal mask when L ≠ S: 'topLeft' (PyTorch's isCausal, default) or 'bottomRight' (decoding). */
  causalAlignment?: CausalAlignment;
  /** Score scale; defaults to 1/√E with E the query's last dim. */
  scale?: number | null;
  /** Let K/V have fewer heads than Q: query head h uses KV head ⌊h / (H_q/H_kv)⌋ (repeat_interleave). */
  enableGqa?: boolean;
  /**
   * Whether dropout is active (default true: like PyTorch's functional form, dropout applies whenever dropoutP > 0;
   * modules pass their training flag).
   */
  training?: boolean;
  /** Source of the dropout mask (the default generator otherwise). */
  generator?: Generator;
}

/** Options of {@link sigmoidAttention}. */
export interface SigmoidAttentionOptions extends Omit<ScaledDotProductAttentionOptions, 'dropoutP' | 'training' | 'generator'> {
  /** The scalar b added to every logit before σ; the paper recommends −ln n for sequence length n. */
  bias: number;
}

/** @internal Options of the shared core. */
export interface AttentionCoreOptions extends ScaledDotProductAttentionOptions {
  scoreFunction?: 'softmax' | 'sigmoid';
  /** Added to the logits before σ (sigmoid only). */
  scoreBias?: number;
  /** Return the (post-dropout) attention weights too; forces the composed path. */
  needWeights?: boolean;
}

/** @internal Output and, when asked for, the attention weights [..., H_q, L, S]. */
export interface AttentionCoreResult {
  output: Tensor;
  weights: Tensor | null;
}

/**
 * softmax(q·kᵀ·scale + mask)·v, like torch.nn.functional.scaled_dot_product_attention: q [..., H_q, L, E],
 * k [..., H_kv, S, E], v [..., H_kv, S, E_v] → [..., H_q, L, E_v]. Leading dims broadcast. Differentiable in q, k, v
 * and a float attnMask. Uses the backend's fused attention kernel when it has one (and no dropout is active).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor {
  return attentionCore('scaledDotProductAttention', q, k, v, opts).output;
}

/**
 * Sigmoid attention (Ramapuram et al. 2024): σ(q·kᵀ·scale + bias + mask)·v with no normalisation over keys. Masked
 * keys get weight exactly 0. Same shapes, masks and GQA handling as {@link scaledDotProductAttention}.
 */
export function sigmoidAttention(q: Tensor, k: Tensor, v: Tensor, opts: SigmoidAttentionOptions): Tensor {
  if (!Number.isFinite(opts.bias)) throw new ArgumentError(`sigmoidAttention: bias must be a finite number, got ${opts.bias}`);
  return attentionCore('sigmoidAttention', q, k, v, { ...opts, scoreFunction: 'sigmoid', scoreBias: opts.bias }).output;
}

interface Checked {
  lead: number[];
  L: number;
  S: number;
  Hq: number;
  Hk: number;
  scale: number;
}

function validate(op: string, q: Tensor, k: Tensor, v: Tensor, o: AttentionCoreOptions): Checked {
  const shapes = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`;
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const)
    if (!isFloat(t.dtype)) throw new DTypeError(`${op}: ${name} must be floating-point, got ${t.dtype}`);
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) throw new DTypeError(`${op}: q, k, v must share a dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  const minDims = o.enableGqa ? 3 : 2;
  if (q.ndim < minDims || k.ndim < minDims || v.ndim < minDims || q.shape.at(-1) !== k.shape.at(-1) || k.shape.at(-2) !== v.shape.at(-2))
    throw new ShapeError(`${op}: expected q [..., ${o.enableGqa ? 'H_q, ' : ''}L, E], k [..., ${o.enableGqa ? 'H_kv, ' : ''}S, E], v [..., ${o.enableGqa ? 'H_kv, ' : ''}S, E_v], got ${shapes}`);
  const [L, S] = [q.shape.at(-2)!, k.shape.at(-2)!];
  let Hq = q.ndim >= 3 ? q.shape.at(-3)! : 1;
  let Hk = k.ndim >= 3 ? k.shape.at(-3)! : 1;
  if (o.enableGqa) {
    if (k.shape.at(-3) !== v.shape.at(-3)) throw new ShapeError(`${op}: k and v must have the same number of heads, got ${shapes}`);
    if (Hk < 1 || Hq % Hk !== 0)
      throw new ShapeError(`${op}: with enableGqa the query heads (${Hq}) must be a multiple of the key/value heads (${Hk}); got ${shapes}`);
  } else Hq = Hk = 0;
  // With GQA the head dims differ on purpose; compare the rest (heads replaced by 1).
  const leadOf = (t: Tensor) => {
    const l = t.shape.slice(0, -2);
    if (o.enableGqa) l[l.length - 1] = 1;
    return l;
  };
  let lead: number[];
  try {
    lead = broadcastShapes(op, leadOf(q), leadOf(k), leadOf(v));
  } catch {
    throw new ShapeError(`${op}: the leading (batch/head) dims of ${shapes} do not broadcast`);
  }
  if (o.enableGqa) lead[lead.length - 1] = Hq;
  const scale = o.scale ?? 1 / Math.sqrt(q.shape.at(-1)!);
  if (!Number.isFinite(scale)) throw new ArgumentError(`${op}: scale must be finite, got ${scale}`);
  const p = o.dropoutP ?? 0;
  if (!(p >= 0 && p < 1)) throw new ArgumentError(`${op}: dropoutP must be within [0, 1), got ${p}`);
  if (o.isCausal && o.attnMask) throw new ArgumentError(`${op}: pass either attnMask or isCausal, not both`);
  const m = o.attnMask;
  if (m) {
    if (m.dtype !== 'bool' && !isFloat(m.dtype)) throw new DTypeError(`${op}: attnMask must be bool (true = may attend) or float (added), got ${m.dtype}`);
    const target = [...lead, L, S];
    let ok = m.ndim <= target.length;
    if (ok) {
      try {
        ok = broadcastShapes(op, m.shape, target).every((s, i) => s === target[i]);
      } catch {
        ok = false;
      }
    }
    if (!ok) throw new ShapeError(`${op}: attnMask ${fmtShape(m.shape)} must broadcast to the attention shape ${fmtShape(target)} (${shapes})`);
  }
  if (o.causalAlignment && o.causalAlignment !== 'topLeft' && o.causalAlignment !== 'bottomRight')
    throw new ArgumentError(`${op}: causalAlignment must be 'topLeft' or 'bottomRight', got '${o.causalAlignment}'`);
  return { lead, L, S, Hq, Hk, scale };
}

/**
 * How causality is applied: 'flag' (top-left, which bottom-right equals when L = S: the fused kernel's isCausal),
 * 'mask' (bottom-right with L ≠ S, as an explicit mask), or 'none' (not causal, or a single bottom-right query row,
 * which sees every key).
 */
function causalKind(c: Checked, o: AttentionCoreOptions): 'none' | 'flag' | 'mask' {
  if (!o.isCausal) return 'none';
  if ((o.causalAlignment ?? 'topLeft') === 'topLeft' || c.L === c.S) return 'flag';
  return c.L === 1 ? 'none' : 'mask';
}

/** @internal The shared attention core used by every function and module of this package. */
export function attentionCore(op: string, q: Tensor, k: Tensor, v: Tensor, o: AttentionCoreOptions): AttentionCoreResult {
  const c = validate(op, q, k, v, o);
  const causal = causalKind(c, o);
  const dropoutActive = (o.dropoutP ?? 0) > 0 && o.training !== false;
  const fused = q.backend.fused.attention;
  if (fused && !o.needWeights && (o.scoreFunction ?? 'softmax') === 'softmax' && !dropoutActive) {
    const mask = causal === 'mask' ? causalMask(c.L, c.S, { alignment: 'bottomRight', device: q.device }) : (o.attnMask ?? null);
    return { output: fusedAttention(q, k, v, mask, causal === 'flag', c, !!o.enableGqa), weights: null };
  }
  const mask = causal === 'none' ? (o.attnMask ?? null) : causalMask(c.L, c.S, { alignment: causal === 'flag' ? 'topLeft' : 'bottomRight', device: q.device });
  return composedAttention(q, k, v, mask, c, o, dropoutActive);
}

/** Applies a mask (bool: true = may attend; float: added) to scores. */
function applyMask(scores: Tensor, mask: Tensor | null): Tensor {
  if (!mask) return scores;
  return mask.dtype === 'bool' ? scores.maskedFill(mask.logicalNot(), -Infinity) : scores.add(mask);
}

/** Softmax over keys that gives 0 (not NaN) on rows where every score is −∞. */
function safeSoftmax(scores: Tensor, masked: boolean): Tensor {
  if (!masked) return scores.softmax(-1);
  const dead = noGrad(() => scores.amax(-1, true).eq(-Infinity));
  return scores.maskedFill(dead, 0).softmax(-1).maskedFill(dead, 0);
}

/** Views a mask broadcastable to [..., H_q, L, S] as [..., H_kv|1, g|1, L, S]. */
function groupMask(mask: Tensor, rank: number, Hk: number, g: number): Tensor {
  const m = mask.ndim < rank ? mask.reshape([...new Array<number>(rank - mask.ndim).fill(1), ...mask.shape]) : mask;
  return m.shape.at(-3) === 1 ? m.unsqueeze(-3) : m.unflatten(-3, [Hk, g]);
}

function composedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, c: Checked, o: AttentionCoreOptions, dropoutActive: boolean): AttentionCoreResult {
  const grouped = !!o.enableGqa && c.Hq !== c.Hk;
  const g = grouped ? c.Hq / c.Hk : 1;
  const qg = grouped ? q.unflatten(-3, [c.Hk, g]) : q;
  const kg = grouped ? k.unsqueeze(-3) : k;
  const vg = grouped ? v.unsqueeze(-3) : v;
  const m = mask && grouped ? groupMask(mask, c.lead.length + 2, c.Hk, g) : mask;
  const scores = applyMask(qg.matmul(kg.mT).mul(c.scale), m);
  let w = o.scoreFunction === 'sigmoid' ? scores.add(o.scoreBias ?? 0).sigmoid() : safeSoftmax(scores, m !== null);
  if (dropoutActive) w = dropout(w, o.dropoutP!, true, { generator: o.generator });
  const out = w.matmul(vg);
  return {
    output: grouped ? out.flatten(-4, -3) : out,
    weights: o.needWeights ? (grouped ? w.flatten(-4, -3) : w) : null,
  };
}

/** Expands t [...lead', X, Y] to lead and views it as [B, H, X, Y] for the fused kernel. */
function as4d(t: Tensor, lead: readonly number[]): Tensor {
  const [X, Y] = [t.shape.at(-2)!, t.shape.at(-1)!];
  const H = lead.at(-1) ?? 1;
  const B = lead.slice(0, -1).reduce((a, b) => a * b, 1);
  const full = t.ndim === lead.length + 2 && t.shape.slice(0, -2).every((s, i) => s === lead[i]) ? t : t.expand([...lead, X, Y]);
  return full.reshape([B, H, X, Y]);
}

/** A mask broadcastable to [...lead, L, S] as [B|1, H|1, L|1, S|1], copying only when the batch part is mixed. */
function mask4d(mask: Tensor, lead: readonly number[]): Tensor {
  const rank = lead.length + 2;
  const m = mask.ndim < rank ? mask.reshape([...new Array<number>(rank - mask.ndim).fill(1), ...mask.shape]) : mask;
  const [X, Y] = [m.shape.at(-2)!, m.shape.at(-1)!];
  const H = lead.length ? m.shape.at(-3)! : 1;
  const batch = m.shape.slice(0, Math.max(0, lead.length - 1));
  if (batch.every((s) => s === 1)) return m.reshape([1, H, X, Y]);
  const B = lead.slice(0, -1).reduce((a, b) => a * b, 1);
  return m.expand([...lead.slice(0, -1), H, X, Y]).reshape([B, H, X, Y]);
}

function fusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, isCausal: boolean, c: Checked, gqa: boolean): Tensor {
  const g = gqa ? c.Hq / c.Hk : 1;
  const kr = g > 1 ? k.repeatInterleave(g, -3) : k;
  const vr = g > 1 ? v.repeatInterleave(g, -3) : v;
  const [q4, k4, v4] = [as4d(q, c.lead), as4d(kr, c.lead), as4d(vr, c.lead)];
  const bias = mask ? mask4d(toAdditiveMask(mask, q.dtype), c.lead) : null;
  const backend = q.backend;
  const biasGrad = !!bias?.requiresGrad;
  const fn = customFunction<Tensor[]>({
    name: 'scaledDotProductAttention',
    forward: (ctx, q4, k4, v4, b) => {
      const buf = backend.fused.attention!.call(backend.fused, q4!.layout('attention'), k4!.layout('attention'), v4!.layout('attention'), b?.layout('attention') ?? null, isCausal, c.scale);
      const out = Tensor.fromBuffer(backend, buf, [q4!.shape[0]!, q4!.shape[1]!, c.L, v4!.shape[3]!], q4!.dtype);
      if (backend.fused.attentionBackward) ctx.saveForBackward(out);
      return out;
    },
    backward: (ctx, gOut) => {
      // The backend's fused backward, when no higher-order graph is being built and the mask needs no gradient.
      const fusedBackward = backend.fused.attentionBackward;
      if (fusedBackward && !isGradEnabled() && !biasGrad && gOut.backend === backend) {
        const lay = (t: Tensor) => t.layout('attention');
        const g = fusedBackward.call(backend.fused, lay(q4), lay(k4), lay(v4), bias ? lay(bias) : null, isCausal, c.scale, lay(ctx.saved[0]!), lay(gOut));
        const grads = [Tensor.fromBuffer(backend, g.dq, q4.shape, q4.dtype), Tensor.fromBuffer(backend, g.dk, k4.shape, k4.dtype), Tensor.fromBuffer(backend, g.dv, v4.shape, v4.dtype)];
        return bias ? [...grads, null] : grads;
      }
      // Recompute the probabilities (flash-style) with differentiable ops; spec §2.3. The causal mask is built here,
      // not in the forward: the fused paths never need it.
      const causal = isCausal ? causalMask(c.L, c.S, { device: q.device }) : null;
      const A = safeSoftmax(applyMask(applyMask(q4.matmul(k4.mT).mul(c.scale), causal), bias), bias !== null);
      const dA = gOut.matmul(v4.mT);
      const dZ = A.mul(dA.sub(dA.mul(A).sum(-1, true)));
      const grads = [dZ.matmul(k4).mul(c.scale), dZ.mT.matmul(q4).mul(c.scale), A.mT.matmul(gOut)];
      return bias ? [...grads, biasGrad ? sumTo(dZ, bias.shape) : null] : grads;
    },
  });
  let out = bias ? fn(q4, k4, v4, bias) : fn(q4, k4, v4);
  if (bias) out = out.maskedFill(noGrad(() => bias.amax(-1, true).eq(-Infinity)), 0);
  return out.reshape([...c.lead, c.L, v.shape.at(-1)!]);
}
