/**
 * Titans' memory networks M_W (spec §8.1, §8.4, §8.7): the function whose weights W are the fast, test-time-trained
 * state. The module holds only the learned initial weights W^(0) (one set per head, [H, …shape]); every method takes
 * the weights explicitly, batched over any leading dims (batch, head, chunk), so one call evaluates many weight sets.
 *
 *   MLP (lucidrains' MemoryMLP): h₀ = k; z_l = h_l W_l; h_{l+1} = GELU(z_l) for all but the last layer; p = h_L
 *   residual norm (ResidualNorm, default): M(k) = k + LayerNorm(p) ⊙ (1 + γ) (LayerNorm without affine, eps 1e-5;
 *   γ is itself a fast weight)
 *   linear: depth 1 without the residual norm, M(k) = k W
 *
 * The associative loss is the reference's ℓ(W; k, v) = mean_j (M_W(k)_j − v_j)² (the paper's squared norm / d_h).
 * `gradient` returns Σ_t c_t ∇_W ℓ(W; k_t, v_t) in closed form (option B of §8.7) from differentiable ops — including
 * GELU′(z) = Φ(z) + zφ(z), whose own derivative autograd takes — so outer backprop reaches W_K and W_V (second-order
 * terms). `gradientByAutograd` gets the same sums from core's grad with createGraph (option A).
 */
import { ArgumentError, enableGrad, grad, isGradEnabled, layerNorm, Tensor, zeros } from '@tessera/core';
import { Module, Parameter, uniform_, type FactoryOptions } from '@tessera/nn';

/** Options of {@link MemoryMLP}. */
export interface MemoryMLPOptions extends FactoryOptions {
  /** Number of weight matrices L_M (default 2; 1 = linear map). */
  depth?: number;
  /** Hidden width factor (default 4, NeuralMemory's default model). */
  expansion?: number;
  /** Wrap in the residual LayerNorm with the learned gain γ (default true for depth ≥ 2, false for depth 1). */
  residualNorm?: boolean;
}

const LN_EPS = 1e-5;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** GELU′(z) = Φ(z) + z·φ(z) (exact GELU), differentiable. */
export function geluDerivative(z: Tensor): Tensor {
  const cdf = z.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
  const pdf = z.square().mul(-0.5).exp().mul(INV_SQRT_2PI);
  return cdf.add(z.mul(pdf));
}

/** The memory network M_W with per-head learned initial weights: an MLP, optionally with the residual norm. */
export class MemoryMLP extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly depth: number;
  readonly hiddenDim: number;
  readonly residualNorm: boolean;
  /** Shapes of the fast weights, in order (without leading dims): the L matrices, then γ with the residual norm. */
  readonly weightShapes: readonly (readonly number[])[];

  constructor(dim: number, heads: number, opts: MemoryMLPOptions = {}) {
    super();
    const depth = opts.depth ?? 2;
    const expansion = opts.expansion ?? 4;
    for (const [n, v] of Object.entries({ dim, heads, depth }))
      if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`MemoryMLP: ${n} must be a positive integer, got ${v}`);
    if (!(expansion > 0)) throw new ArgumentError(`MemoryMLP: expansion must be positive, got ${expansion}`);
    this.dim = dim;
    this.heads = heads;
    this.depth = depth;
    this.hiddenDim = Math.floor(dim * expansion);
    this.residualNorm = opts.residualNorm ?? depth > 1;
    const widths = [dim, ...new Array<number>(depth - 1).fill(this.hiddenDim), dim];
    const shapes: number[][] = [];
    const p = { dtype: opts.dtype, device: opts.device };
    for (let l = 0; l < depth; l++) {
      const [fanIn, fanOut] = [widths[l]!, widths[l + 1]!];
      const w = zeros([heads, fanIn, fanOut], p);
      // Xavier-uniform per head, as if each head's matrix were its own parameter.
      uniform_(w, -Math.sqrt(6 / (fanIn + fanOut)), Math.sqrt(6 / (fanIn + fanOut)), { generator: opts.generator });
      this.registerParameter(`w${l}`, Parameter(w));
      shapes.push([fanIn, fanOut]);
    }
    if (this.residualNorm) {
      this.registerParameter('gamma', Parameter(zeros([heads, dim], p)));
      shapes.push([dim]);
    }
    this.weightShapes = shapes;
  }

  /** The learned initial weights W^(0), each [H, …shape], in weightShapes order (the parameters themselves). */
  initialWeights(): Tensor[] {
    const r = this as unknown as Record<string, Tensor>;
    return [...Array.from({ length: this.depth }, (_, l) => r[`w${l}`]!), ...(this.residualNorm ? [r['gamma']!] : [])];
  }

  /** Parameters per head P_M (for the state size §8.8). */
  parametersPerHead(): number {
    return this.weightShapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  }

  /** M_W(k): weights [..., …shape_i] (leading dims broadcast against k's), k [..., n, dim] → [..., n, dim]. */
  override forward(weights: readonly Tensor[], k: Tensor): Tensor {
    let h = k;
    for (let l = 0; l < this.depth; l++) {
      const z = h.matmul(weights[l]!);
      h = l < this.depth - 1 ? z.gelu() : z;
    }
    if (!this.residualNorm) return h;
    const gamma = weights[this.depth]!.unsqueeze(-2);
    return layerNorm(h, [this.dim], null, null, LN_EPS).mul(gamma.add(1)).add(k);
  }

  /**
   * Σ_t c_t ∇_W ℓ(W; k_t, v_t) in closed form, summed over the token axis (−2): weights [..., …shape], k and v
   * [..., n, dim], c [..., n]. Returns one tensor per weight, shaped like the weights with the leading dims of k.
   */
  gradient(weights: readonly Tensor[], k: Tensor, v: Tensor, c: Tensor): Tensor[] {
    const L = this.depth;
    const hs: Tensor[] = [k];
    const zs: Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const z = hs[l]!.matmul(weights[l]!);
      zs.push(z);
      if (l < L - 1) hs.push(z.gelu());
    }
    const p = zs[L - 1]!;
    const scale = c.unsqueeze(-1).mul(2 / this.dim);
    let gP: Tensor;
    let gGamma: Tensor | null = null;
    if (this.residualNorm) {
      const gamma = weights[L]!.unsqueeze(-2);
      const centered = p.sub(p.mean(-1, true));
      const rstd = centered.square().mean(-1, true).add(LN_EPS).rsqrt();
      const normed = centered.mul(rstd);
      const e = normed.mul(gamma.add(1)).add(k).sub(v).mul(scale);
      gGamma = e.mul(normed).sum(-2);
      const gN = e.mul(gamma.add(1));
      gP = gN.sub(gN.mean(-1, true)).sub(normed.mul(gN.mul(normed).mean(-1, true))).mul(rstd);
    } else gP = p.sub(v).mul(scale);
    const grads = new Array<Tensor>(L);
    let g = gP;
    for (let l = L - 1; l >= 0; l--) {
      if (l < L - 1) g = g.mul(geluDerivative(zs[l]!));
      grads[l] = hs[l]!.mT.matmul(g);
      if (l > 0) g = g.matmul(weights[l]!.mT);
    }
    return gGamma ? [...grads, gGamma] : grads;
  }

  /**
   * The same sums by reverse-mode autodiff (option A of §8.7). `weights` must have the full leading dims of k (one
   * weight set per batch element); the result keeps the graph (createGraph) whenever grad mode is on, so the outer
   * loss can differentiate through it.
   */
  gradientByAutograd(weights: readonly Tensor[], k: Tensor, v: Tensor, c: Tensor): Tensor[] {
    const outer = isGradEnabled();
    return enableGrad(() => {
      const ws = weights.map((w) => (outer && w.requiresGrad ? w : w.detach().requiresGrad_(true)));
      const loss = this.forward(ws, k).sub(v).square().mean(-1).mul(c).sum();
      const grads = grad(loss, ws, { createGraph: outer, allowUnused: true });
      return grads.map((g, i) => g ?? zeros(ws[i]!.shape, { dtype: k.dtype, device: k.device }));
    });
  }

  override extraRepr(): string {
    return `dim=${this.dim}, heads=${this.heads}, depth=${this.depth}, hiddenDim=${this.hiddenDim}, residualNorm=${this.residualNorm}`;
  }
}

/** A linear memory M_W(k) = k·W (depth 1, no residual norm): the update becomes a gated delta rule (§8.1). */
export function linearMemory(dim: number, heads: number, opts: FactoryOptions = {}): MemoryMLP {
  return new MemoryMLP(dim, heads, { ...opts, depth: 1, residualNorm: false });
}
