/**
 * CrossViT's cross-attention token fusion (Chen et al. 2021; IBM/CrossViT `MultiScaleBlock` fusion part; spec
 * §5.2). For branch i with partner j: the CLS token of i is projected to width d_j, it alone queries [cls; patches
 * of j], the result is added to it (no MLP), and it is projected back to d_i. Patch tokens pass through unchanged.
 * Parameter names follow the reference (projs.i.{0,2}, fusion.i.norm1, fusion.i.attn.{wq,wk,wv,proj},
 * revert_projs.i.{0,2}).
 */
import { ArgumentError, cat, fmtShape, ShapeError, Tensor } from '@tessera/core';
import { GELU, LayerNorm, Linear, Module, ModuleList, Sequential, truncNormal_, zeros_, type FactoryOptions } from '@tessera/nn';
import { CrossAttention } from './cross.js';

export interface CrossViTAttentionBlockOptions extends FactoryOptions {
  /** Biases on wq, wk, wv (default true, as in the released configs). */
  qkvBias?: boolean;
  /** LayerNorm epsilon (default 1e-6). */
  eps?: number;
}

/** norm1 then cross-attention where only the first (CLS) token queries all tokens; residual on the CLS only. */
export class CrossViTAttentionBlock extends Module {
  norm1: LayerNorm;
  attn: CrossAttention;

  constructor(dim: number, numHeads: number, opts: CrossViTAttentionBlockOptions = {}) {
    super();
    this.norm1 = new LayerNorm(dim, { ...opts, eps: opts.eps ?? 1e-6 });
    this.attn = new CrossAttention({
      ...opts,
      queryDim: dim,
      numHeads,
      bias: opts.qkvBias ?? true,
      outputBias: true,
      init: { truncNormal: 0.02 },
      names: { query: 'wq', key: 'wk', value: 'wv', output: 'proj' },
    });
  }

  /** z [B, 1 + N, d] → the updated CLS token [B, 1, d]. */
  override forward(z: Tensor): Tensor {
    const normed = this.norm1.forward(z);
    return z.narrow(1, 0, 1).add(this.attn.forward(normed.narrow(1, 0, 1), normed));
  }
}

export interface CrossViTFusionOptions extends CrossViTAttentionBlockOptions {
  /** Widths of the two branches [d_0, d_1]. */
  dims: readonly [number, number];
  /** Heads of the two branches [H_0, H_1]; the fusion for branch i runs with H_j at width d_j. */
  numHeads: readonly [number, number];
}

/** LayerNorm → GELU → Linear, initialised like CrossViT (trunc-normal 0.02 weights, zero biases). */
function projection(from: number, to: number, opts: CrossViTAttentionBlockOptions): Sequential {
  const lin = new Linear(from, to, opts);
  truncNormal_(lin.weight, 0, 0.02, -2, 2, { generator: opts.generator });
  zeros_(lin.bias!);
  return new Sequential(new LayerNorm(from, { ...opts, eps: opts.eps ?? 1e-6 }), new GELU(), lin);
}

/** The cross-attention fusion between CrossViT's two branches. */
export class CrossViTFusion extends Module {
  projs: ModuleList;
  fusion: ModuleList;
  revert_projs: ModuleList;
  readonly dims: readonly [number, number];

  constructor(opts: CrossViTFusionOptions) {
    super();
    const { dims, numHeads } = opts;
    if (dims.length !== 2 || numHeads.length !== 2) throw new ArgumentError('CrossViTFusion: dims and numHeads must list two branches');
    this.dims = dims;
    const other = (i: number) => (i + 1) % 2;
    this.projs = new ModuleList([0, 1].map((i) => projection(dims[i]!, dims[other(i)]!, opts)));
    this.fusion = new ModuleList([0, 1].map((i) => new CrossViTAttentionBlock(dims[other(i)]!, numHeads[other(i)]!, opts)));
    this.revert_projs = new ModuleList([0, 1].map((i) => projection(dims[other(i)]!, dims[i]!, opts)));
  }

  /** [x_0 [B, 1+N_0, d_0], x_1 [B, 1+N_1, d_1]] → the same shapes, with only the CLS tokens changed. */
  override forward(xs: readonly [Tensor, Tensor]): [Tensor, Tensor] {
    xs.forEach((x, i) => {
      if (x.ndim !== 3 || x.shape[2] !== this.dims[i] || x.shape[1]! < 1)
        throw new ShapeError(`CrossViTFusion: branch ${i} must be [B, 1 + N, ${this.dims[i]}] (CLS first), got ${fmtShape(x.shape)}`);
    });
    if (xs[0].shape[0] !== xs[1].shape[0]) throw new ShapeError(`CrossViTFusion: the branches have different batch sizes, ${fmtShape(xs[0].shape)} and ${fmtShape(xs[1].shape)}`);
    const call = (list: ModuleList, i: number, x: Tensor) => (list.at(i) as Module & { forward(t: Tensor): Tensor }).forward(x);
    const projected = xs.map((x, i) => call(this.projs, i, x.narrow(1, 0, 1)));
    return [0, 1].map((i) => {
      const j = (i + 1) % 2;
      const partner = xs[j]!;
      const z = cat([projected[i]!, partner.narrow(1, 1, partner.shape[1]! - 1)], 1);
      const cls = call(this.revert_projs, i, call(this.fusion, i, z));
      const x = xs[i]!;
      return cat([cls, x.narrow(1, 1, x.shape[1]! - 1)], 1);
    }) as [Tensor, Tensor];
  }
}
