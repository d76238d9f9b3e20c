/**
 * Mixture-of-Head routing (Jin et al. 2024; spec §6.3–6.4): per-token head gates from three bias-free routers that
 * read the attention-layer input x.
 *
 * Released code (normative, 'released'):
 *   p   = softmax(x W_r)                      over the h_r routed heads
 *   m   = 1[top-K of p]                       (no gradient)
 *   g_r = K · (p ⊙ m) / max(Σ p ⊙ m, ε)       (renormalised over the K selected, × K)
 *   g_s = h_s · softmax(x W_s)                (the constant 1 when h_s = 1)
 *   [a1, a2] = 2 · softmax(x W_h)             (shared vs routed)
 *   gates = [a1·g_s ; a2·g_r]                 (h_s = 0: g_r;  K = 0: g_s)
 * so a uniform router gives gates of exactly 1, i.e. plain MHA. The paper's equations ('paper') drop the factors
 * h_s, K and 2 and do not renormalise over the selected heads.
 *
 * Load balance (training only): P_i = mean_t p_{t,i}, f_i = mean_t m_{t,i} (no gradient),
 * L_b = h_r · Σ_i P_i f_i (released; = K for uniform routing) or Σ_i P_i f_i (paper).
 */
import { ArgumentError, cat, fmtShape, noGrad, ones, ShapeError, Tensor, zeros } from '@tessera/core';
import { linear } from '@tessera/nn';

/** Which gate formula: the released code's (default) or the paper's equations. */
export type MoHFormulation = 'released' | 'paper';

/** Head counts of a MoH layer. */
export interface MoHHeadCounts {
  /** Total heads h. */
  numHeads: number;
  /** Always-active shared heads h_s (the first h_s heads). */
  sharedHeads: number;
  /** Routed heads selected per token, K (the released code's `routed_head` argument). */
  routedTopK: number;
}

/** Router weights in PyTorch layout [out, in]; null where the configuration has no such router. */
export interface MoHRouterWeights {
  /** W_r [h_r, d] (present iff K > 0). */
  wg: Tensor | null;
  /** W_h [2, d] (present iff K > 0 and h_s > 0). */
  wg_0: Tensor | null;
  /** W_s [h_s, d] (present iff h_s > 1). */
  wg_1: Tensor | null;
}

/** The routing of one call. */
export interface MoHRouting {
  /** Per-token gate of every head, [B, T, h]; exactly 0 for routed heads a token did not select. */
  gates: Tensor;
  /** Bool [B, T, h]: heads active for each token (shared heads always). */
  active: Tensor;
  /** Full routed softmax p, [B, T, h_r] (null when K = 0). */
  routedProbs: Tensor | null;
  /** Indices (0-based among the routed heads) of the K selected heads, int32 [B, T, K] (null when K = 0). */
  selected: Tensor | null;
  /** The load-balance loss L_b (a scalar), when requested and K > 0; null otherwise. */
  balanceLoss: Tensor | null;
}

/** Validates head counts and says which routers exist. */
export function mohRouterLayout(op: string, c: MoHHeadCounts): { routed: number; wg: boolean; wg_0: boolean; wg_1: boolean } {
  const { numHeads: h, sharedHeads: hs, routedTopK: K } = c;
  if (!Number.isInteger(h) || h < 1) throw new ArgumentError(`${op}: numHeads must be a positive integer, got ${h}`);
  if (!Number.isInteger(hs) || hs < 0 || hs > h) throw new ArgumentError(`${op}: sharedHeads must be an integer in [0, ${h}], got ${hs}`);
  const routed = h - hs;
  if (!Number.isInteger(K) || K < 0 || K > routed) throw new ArgumentError(`${op}: routedTopK must be an integer in [0, ${routed}] (the routed heads), got ${K}`);
  if (K === 0 && routed > 0) throw new ArgumentError(`${op}: routedTopK = 0 leaves the ${routed} routed heads unused; make every head shared (sharedHeads = numHeads) instead`);
  if (K === 0 && hs < 2) throw new ArgumentError(`${op}: with no routed heads the shared-head router needs sharedHeads ≥ 2 (as the released code), got ${hs}`);
  return { routed, wg: K > 0, wg_0: K > 0 && hs > 0, wg_1: hs > 1 };
}

/**
 * Derives (sharedHeads, routedTopK) from an activation ratio ρ = (h_s + K)/h and a shared ratio of the activated heads
 * (default 0.5; the paper recommends more than 0.4). Rounds to whole heads; K ≥ 1 unless every head is active.
 */
export function mohHeadsFromRatio(numHeads: number, activationRatio: number, sharedFraction = 0.5): MoHHeadCounts {
  if (!(activationRatio > 0 && activationRatio <= 1)) throw new ArgumentError(`mohHeadsFromRatio: activationRatio must be in (0, 1], got ${activationRatio}`);
  if (!(sharedFraction >= 0 && sharedFraction <= 1)) throw new ArgumentError(`mohHeadsFromRatio: sharedFraction must be in [0, 1], got ${sharedFraction}`);
  const active = Math.max(1, Math.round(activationRatio * numHeads));
  if (active === numHeads && numHeads > 1) return { numHeads, sharedHeads: numHeads, routedTopK: 0 };
  let shared = Math.min(active - 1, Math.round(sharedFraction * active));
  shared = Math.max(0, shared);
  return { numHeads, sharedHeads: shared, routedTopK: active - shared };
}

const machineEps = (dtype: string) => (dtype === 'float64' ? 2.220446049250313e-16 : 1.1920928955078125e-7);

/** Computes the gates of every head for x [B, T, d] (spec §6.3) and, if asked, the load-balance loss (§6.4). */
export function mohRoute(x: Tensor, w: MoHRouterWeights, c: MoHHeadCounts, opts: { formulation?: MoHFormulation; balanceLoss?: boolean } = {}): MoHRouting {
  const op = 'mohRoute';
  const layout = mohRouterLayout(op, c);
  const { sharedHeads: hs, routedTopK: K } = c;
  const released = (opts.formulation ?? 'released') === 'released';
  if (x.ndim !== 3) throw new ShapeError(`${op}: expected x [batch, tokens, d], got ${fmtShape(x.shape)}`);
  for (const name of ['wg', 'wg_0', 'wg_1'] as const)
    if (layout[name] !== (w[name] !== null)) throw new ArgumentError(`${op}: router ${name} must be ${layout[name] ? 'present' : 'absent'} for h=${c.numHeads}, h_s=${hs}, K=${K}`);
  const [B, T] = [x.shape[0]!, x.shape[1]!];
  const fill = (n: number, v: number) => (v === 1 ? ones : zeros)([B, T, n], { dtype: x.dtype, device: x.device });

  let routedGates: Tensor | null = null;
  let probs: Tensor | null = null;
  let selected: Tensor | null = null;
  let mask: Tensor | null = null;
  if (K > 0) {
    probs = linear(x, w.wg!).softmax(-1);
    selected = noGrad(() => probs!.topk(K, -1).indices);
    mask = noGrad(() => zeros(probs!.shape, { dtype: x.dtype, device: x.device }).scatter(-1, selected!, 1));
    const kept = probs.mul(mask);
    routedGates = released ? kept.div(kept.sum(-1, true).clamp(machineEps(x.dtype), null)).mul(K) : kept;
  }
  let gates: Tensor;
  if (hs === 0) gates = routedGates!;
  else {
    const sharedGates = w.wg_1 ? linear(x, w.wg_1).softmax(-1).mul(released ? hs : 1) : fill(1, 1);
    if (K === 0) gates = sharedGates;
    else {
      const stage = linear(x, w.wg_0!).softmax(-1).mul(released ? 2 : 1);
      gates = cat([sharedGates.mul(stage.narrow(-1, 0, 1)), routedGates!.mul(stage.narrow(-1, 1, 1))], -1);
    }
  }
  const active = noGrad(() => (mask ? cat([fill(hs, 1), mask], -1) : fill(c.numHeads, 1)).ne(0));

  let balanceLoss: Tensor | null = null;
  if (opts.balanceLoss && K > 0) {
    const P = probs!.reshape([-1, layout.routed]).mean(0);
    const f = mask!.reshape([-1, layout.routed]).mean(0);
    balanceLoss = P.mul(f).sum().mul(released ? layout.routed : 1);
  }
  return { gates, active, routedProbs: probs, selected, balanceLoss };
}
