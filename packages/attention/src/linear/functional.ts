/**
 * Causal linear attention with a per-head exponential decay (Lightning Attention / TransNormerLLM; spec §9.4), in
 * three forms that compute the same function:
 *
 *   quadratic:  O = [(Q Kᵀ) ⊙ M] V,  M_ts = λ^{t−s} (t ≥ s), 0 otherwise
 *   recurrent:  KV_t = λ·KV_{t−1} + k_tᵀ v_t,  o_t = q_t·KV_t        (state d_k × d_v per head)
 *   chunked:    per block, an intra-block quadratic part plus the carried state, decayed by in-block offsets
 *
 * with λ_h = exp(−s_h). No softmax, no denominator and no 1/√d scale. Shapes: q, k [..., H, T, d_k], v [..., H, T, d_v];
 * the state is [..., H, d_k, d_v] and always means the recurrent KV_t (the Triton kernel's blocked bookkeeping carries
 * λ·KV_t; we shift its offsets by one so that states are interchangeable between the three forms).
 */
import { arange, ArgumentError, cat, DTypeError, fmtShape, isFloat, ShapeError, tensor, Tensor, zeros } from '@tessera/core';

/** Per-head decay rates s_h (λ_h = exp(−s_h)): an array or tensor of H values, or null for no decay (s = 0). */
export type DecaySlopes = readonly number[] | Tensor | null;

/** Output and the recurrent state KV_T after the last token, [..., H, d_k, d_v]. */
export interface LinearAttentionResult {
  output: Tensor;
  state: Tensor;
}

/** Options of the linear-attention forms. */
export interface LinearAttentionOptions {
  /** KV state carried in from earlier tokens (default zeros). */
  initialState?: Tensor | null;
}

/** Options of the chunked form. */
export interface ChunkedLinearAttentionOptions extends LinearAttentionOptions {
  /** Block length of the chunked form (default 64, the kernel's). The last block may be partial. */
  blockSize?: number;
}

/**
 * ALiBi-style decay slopes of Lightning Attention: for H a power of two s_h = 2^{−8(h+1)/H}; otherwise the P = 2^⌊log₂H⌋
 * slopes followed by every other slope of the 2P-head list (indices 0, 2, …) until H are chosen. TransNormerLLM scales
 * the slopes of layer l (0-based) by (1 − l/(numLayers−1) + 1e−5); pass layerIndex/numLayers for that.
 */
export function lightningSlopes(numHeads: number, opts: { layerIndex?: number; numLayers?: number } = {}): number[] {
  if (!Number.isInteger(numHeads) || numHeads < 1) throw new ArgumentError(`lightningSlopes: numHeads must be a positive integer, got ${numHeads}`);
  const powerOfTwo = (n: number) => Array.from({ length: n }, (_, h) => 2 ** ((-8 * (h + 1)) / n));
  let slopes: number[];
  if (Number.isInteger(Math.log2(numHeads))) slopes = powerOfTwo(numHeads);
  else {
    const P = 2 ** Math.floor(Math.log2(numHeads));
    slopes = [...powerOfTwo(P), ...powerOfTwo(2 * P).filter((_, i) => i % 2 === 0).slice(0, numHeads - P)];
  }
  const { layerIndex, numLayers } = opts;
  if (layerIndex === undefined || numLayers === undefined) return slopes;
  if (!Number.isInteger(numLayers) || numLayers < 1 || !Number.isInteger(layerIndex) || layerIndex < 0 || layerIndex >= numLayers)
    throw new ArgumentError(`lightningSlopes: need 0 ≤ layerIndex < numLayers, got layerIndex ${layerIndex}, numLayers ${numLayers}`);
  const factor = numLayers > 1 ? 1 - layerIndex / (numLayers - 1) + 1e-5 : 1;
  return slopes.map((s) => s * factor);
}

interface Checked {
  H: number;
  T: number;
  dk: number;
  dv: number;
  lead: number[];
  /** Slopes as [H, 1, 1] in q's dtype. */
  s: Tensor;
  state: Tensor;
}

function check(op: string, q: Tensor, k: Tensor, v: Tensor, slopes: DecaySlopes, initialState: Tensor | null | undefined): Checked {
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) if (!isFloat(t.dtype)) throw new DTypeError(`${op}: ${name} must be floating-point, got ${t.dtype}`);
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) throw new DTypeError(`${op}: q, k, v must share a dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  const shapes = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`;
  if (q.ndim < 3 || q.ndim !== k.ndim || q.ndim !== v.ndim || q.shape.some((s, i) => s !== k.shape[i]) || v.shape.slice(0, -1).some((s, i) => s !== q.shape[i]))
    throw new ShapeError(`${op}: expected q, k [..., H, T, d_k] and v [..., H, T, d_v] with equal leading dims, got ${shapes}`);
  const [H, T, dk, dv] = [q.shape.at(-3)!, q.shape.at(-2)!, q.shape.at(-1)!, v.shape.at(-1)!];
  const lead = q.shape.slice(0, -2);
  let s: Tensor;
  if (slopes === null) s = zeros([H, 1, 1], { dtype: q.dtype, device: q.device });
  else {
    const st = slopes instanceof Tensor ? slopes.to(q.dtype) : tensor(Float64Array.from(slopes), { dtype: q.dtype, device: q.device });
    if (st.ndim !== 1 || st.shape[0] !== H) throw new ShapeError(`${op}: slopes must hold one value per head (${H}), got ${fmtShape(st.shape)}`);
    s = st.reshape([H, 1, 1]);
  }
  const stateShape = [...lead.slice(0, -1), H, dk, dv];
  let state: Tensor;
  if (initialState) {
    if (initialState.ndim !== stateShape.length || initialState.shape.some((d, i) => d !== stateShape[i]))
      throw new ShapeError(`${op}: initialState must be ${fmtShape(stateShape)} (…, H, d_k, d_v), got ${fmtShape(initialState.shape)}`);
    state = initialState;
  } else state = zeros(stateShape, { dtype: q.dtype, device: q.device });
  return { H, T, dk, dv, lead, s, state };
}

/** λ^{i−j} for i ≥ j and 0 above the diagonal: [H, n, n]. */
function decayMatrix(s: Tensor, n: number): Tensor {
  const i = arange(0, n, 1, { dtype: s.dtype, device: s.device });
  const dist = i.reshape([n, 1]).sub(i.reshape([1, n]));
  const below = dist.ge(0);
  return s.mul(dist.clamp(0, null).neg()).exp().mul(below.to(s.dtype));
}

/** λ^{offset+j} for j = 0..n−1 (or reversed), [H, n, 1]. */
function decayVector(s: Tensor, n: number, offset: number, reversed = false): Tensor {
  const j = arange(0, n, 1, { dtype: s.dtype, device: s.device });
  const e = (reversed ? j.neg().add(n - 1) : j).add(offset).reshape([1, n, 1]);
  return s.mul(e).neg().exp();
}

/** Quadratic (parallel) form: O = [(Q Kᵀ) ⊙ M] V + λ^{t+1}·q_t·KV_0. */
export function linearAttentionQuadratic(q: Tensor, k: Tensor, v: Tensor, slopes: DecaySlopes, opts: LinearAttentionOptions = {}): LinearAttentionResult {
  const c = check('linearAttentionQuadratic', q, k, v, slopes, opts.initialState);
  let output = q.matmul(k.mT).mul(decayMatrix(c.s, c.T)).matmul(v);
  if (opts.initialState) output = output.add(q.mul(decayVector(c.s, c.T, 1)).matmul(c.state));
  const state = c.state.mul(c.s.mul(-c.T).exp()).add(k.mul(decayVector(c.s, c.T, 0, true)).mT.matmul(v));
  return { output, state };
}

/** Recurrent form: one state update per token (the decoding path). */
export function linearAttentionRecurrent(q: Tensor, k: Tensor, v: Tensor, slopes: DecaySlopes, opts: LinearAttentionOptions = {}): LinearAttentionResult {
  const c = check('linearAttentionRecurrent', q, k, v, slopes, opts.initialState);
  const lambda = c.s.neg().exp();
  let state = c.state;
  const outs: Tensor[] = [];
  for (let t = 0; t < c.T; t++) {
    const [qt, kt, vt] = [q.narrow(-2, t, 1), k.narrow(-2, t, 1), v.narrow(-2, t, 1)];
    state = state.mul(lambda).add(kt.mT.matmul(vt));
    outs.push(qt.matmul(state));
  }
  const output = c.T === 0 ? zeros([...c.lead, 0, c.dv], { dtype: q.dtype, device: q.device }) : cat(outs, -2);
  return { output, state };
}

/**
 * Chunked (blocked) form, Lightning Attention-2: per block of n ≤ blockSize tokens, intra = [(Q_b K_bᵀ) ⊙ D] V_b,
 * inter = diag(λ^{j+1}) Q_b KV, then KV ← λ^n KV + (diag(λ^{n−1−j}) K_b)ᵀ V_b. Linear in T for a fixed block.
 */
export function linearAttentionChunked(q: Tensor, k: Tensor, v: Tensor, slopes: DecaySlopes, opts: ChunkedLinearAttentionOptions = {}): LinearAttentionResult {
  const op = 'linearAttentionChunked';
  const c = check(op, q, k, v, slopes, opts.initialState);
  const Bk = opts.blockSize ?? 64;
  if (!Number.isInteger(Bk) || Bk < 1) throw new ArgumentError(`${op}: blockSize must be a positive integer, got ${Bk}`);
  let state = c.state;
  const outs: Tensor[] = [];
  for (let start = 0; start < c.T; start += Bk) {
    const n = Math.min(Bk, c.T - start);
    const [qb, kb, vb] = [q.narrow(-2, start, n), k.narrow(-2, start, n), v.narrow(-2, start, n)];
    const intra = qb.matmul(kb.mT).mul(decayMatrix(c.s, n)).matmul(vb);
    outs.push(intra.add(qb.mul(decayVector(c.s, n, 1)).matmul(state)));
    state = state.mul(c.s.mul(-n).exp()).add(kb.mul(decayVector(c.s, n, 0, true)).mT.matmul(vb));
  }
  const output = c.T === 0 ? zeros([...c.lead, 0, c.dv], { dtype: q.dtype, device: q.device }) : outs.length === 1 ? outs[0]! : cat(outs, -2);
  return { output, state };
}

/** Which form a module runs. */
export type LinearAttentionForm = 'quadratic' | 'recurrent' | 'chunked';

/** Dispatches to one of the three forms. */
export function linearAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  slopes: DecaySlopes,
  opts: ChunkedLinearAttentionOptions & { form?: LinearAttentionForm } = {},
): LinearAttentionResult {
  const form = opts.form ?? 'chunked';
  if (form === 'quadratic') return linearAttentionQuadratic(q, k, v, slopes, opts);
  if (form === 'recurrent') return linearAttentionRecurrent(q, k, v, slopes, opts);
  if (form === 'chunked') return linearAttentionChunked(q, k, v, slopes, opts);
  throw new ArgumentError(`linearAttention: form must be 'quadratic', 'recurrent' or 'chunked', got '${String(form)}'`);
}
