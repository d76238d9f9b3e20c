/**
 * Titans' neural long-term memory (LMM; spec §8.1–8.4, behaviour of lucidrains' NeuralMemory). Per batch element and
 * head, the memory network's weights W are trained online on the associative loss ℓ(W; k, v) while the sequence is
 * read, and queries read it back:
 *
 *   x̂ = RMSNorm_store(x);  k = x̂ W_K,  v = x̂ W_V;  θ_t = θ_max·σ(x̂_t w_θ + b_θ)                 (per token)
 *   chunks of C tokens:  η_c = σ(x̄_c w_η + b_η),  α_c = σ(x̄_c w_α + b_α)   (x̄_c: chunk mean of x̂)
 *   u_c = −Σ_{t∈c} θ_t ∇_W ℓ(W^(m); k_t, v_t)   all gradients of mini-batch m at its start weights W^(m)
 *   S_c = η_c S_{c−1} + u_c;   W_c = (1 − α_c) W_{c−1} + S_c                          (parallel scans)
 *   token t reads W after ⌊(t+1)/C⌋ chunks:  r_t = M_W(RMSNorm_retrieve(x_t) W_Q)
 *   heads > 1: r_{t,h} ·= σ(RMSNorm_retrieve(x_t) w_g^{(h)});  y = concat_h r · W_combine
 *
 * Mini-batches (`batchSize` b, a multiple of C) start at absolute stream positions that are multiples of b; with
 * b = null (the reference default) every gradient is taken at the learned W^(0). Only complete chunks are stored;
 * the remainder is buffered in the returned state and stored by the next call, so any split of a stream into calls
 * gives the same outputs as one call. The inner gradient stays in the autograd graph, so the outer loss trains W_K,
 * W_V and everything upstream of them (second order, §8.7); `detachMemoryState` cuts the graph between segments.
 */
import { ArgumentError, cat, ones, pad, rmsNorm, Tensor, zeros } from '@tessera/core';
import { linear, Linear, Module, RMSNorm, type FactoryOptions } from '@tessera/nn';
import { checkPositiveInts, mergeHeads, splitHeads } from '../heads.js';
import { MemoryMLP } from './memory.js';
import { linearScan } from './scan.js';

/** Options of {@link NeuralMemory} (defaults follow lucidrains' NeuralMemory, spec §8.4). */
export interface NeuralMemoryOptions extends FactoryOptions {
  /** Model width d of the inputs and outputs. */
  dim: number;
  /** Memory heads H (default 1). */
  heads?: number;
  /** Per-head key/value width d_h (default d / H). */
  headDim?: number;
  /** Tokens per chunk C: η and α are shared inside a chunk; a token sees chunks ending at or before it (default 1). */
  chunkSize?: number;
  /** Mini-batch b (multiple of C) at whose start gradients are evaluated; null = always at W^(0) (default). */
  batchSize?: number | null;
  /** Memory network: 'mlp' (default) or 'linear', or a MemoryMLP built for (d_h, H). */
  memory?: 'mlp' | 'linear' | MemoryMLP;
  /** Depth and hidden-width factor of the 'mlp' memory (default 2 and 4). */
  memoryDepth?: number;
  memoryExpansion?: number;
  /** Momentum S with the data-dependent η (default true); false means S_c = u_c. */
  momentum?: boolean;
  /** Data-dependent forgetting α (default true); false means α ≡ 0. */
  forgetGate?: boolean;
  /** θ_max (default_step_transform_max_lr, default 1). */
  maxLearningRate?: number;
  /** Per-head RMSNorm on q and k (qk_rmsnorm; default false). */
  qkRmsNorm?: boolean;
  /** 'analytic' closed-form inner gradients (default) or 'autograd' (core's grad with createGraph). */
  innerGradient?: 'analytic' | 'autograd';
}

/** The memory's recurrent state: fast weights, momentum, mini-batch anchor and the buffered incomplete chunk. */
export interface NeuralMemoryState {
  /** Current fast weights, each [B, H, …shape]. */
  weights: Tensor[];
  /** Current momentum S, each [B, H, …shape]. */
  momentum: Tensor[];
  /** Weights at the start of the current mini-batch (null without batchSize, or at a mini-batch boundary). */
  anchor: Tensor[] | null;
  /** Tokens stored so far (a multiple of C). */
  position: number;
  /** Raw inputs [B, r, d] of the incomplete chunk, r < C (null when empty). */
  buffer: Tensor | null;
  /** Store mask of the buffered tokens [B, r] (null = all stored). */
  bufferMask: Tensor | null;
}

/** Constant gates for ablations and tests (θ after the θ_max transform; η and α in [0, 1]). */
export interface GateOverrides {
  theta?: number;
  eta?: number;
  alpha?: number;
}

/** Per-call options. */
export interface NeuralMemoryForwardOptions {
  /** State carried from the previous call (null = start of the stream). */
  state?: NeuralMemoryState | null;
  /** Bool/float [B, T]: tokens with 0/false are not written (θ forced to 0). */
  storeMask?: Tensor | null;
  /** Constant gates instead of the data-dependent ones. */
  gates?: GateOverrides;
  /** Replacement tensors for parameters, by state-dict name (a functional call, e.g. for gradchecks). */
  params?: Record<string, Tensor>;
}

/** Output [B, T, d] and the state after the call. */
export interface NeuralMemoryOutput {
  output: Tensor;
  state: NeuralMemoryState;
}

/** The neural long-term memory of Titans. */
export class NeuralMemory extends Module {
  store_norm: RMSNorm;
  retrieve_norm: RMSNorm;
  to_queries: Linear;
  to_keys: Linear;
  to_values: Linear;
  q_norm: RMSNorm | null;
  k_norm: RMSNorm | null;
  to_adaptive_step: Linear;
  to_momentum: Linear | null;
  to_decay_factor: Linear | null;
  retrieve_gate: Linear | null;
  combine_heads: Linear | null;
  memory_model: MemoryMLP;
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly chunkSize: number;
  readonly batchSize: number | null;
  readonly maxLearningRate: number;
  readonly innerGradient: 'analytic' | 'autograd';

  constructor(opts: NeuralMemoryOptions) {
    super();
    const name = 'NeuralMemory';
    const { dim, heads = 1, chunkSize = 1, batchSize = null } = opts;
    checkPositiveInts(name, { dim, heads, chunkSize, headDim: opts.headDim, batchSize: batchSize ?? undefined });
    if (opts.headDim === undefined && dim % heads !== 0) throw new ArgumentError(`${name}: dim ${dim} is not divisible by heads ${heads}; pass headDim`);
    if (batchSize !== null && batchSize % chunkSize !== 0) throw new ArgumentError(`${name}: batchSize ${batchSize} must be a multiple of chunkSize ${chunkSize}`);
    const innerGradient = opts.innerGradient ?? 'analytic';
    if (innerGradient !== 'analytic' && innerGradient !== 'autograd') throw new ArgumentError(`${name}: innerGradient must be 'analytic' or 'autograd', got '${innerGradient}'`);
    this.dim = dim;
    this.heads = heads;
    this.headDim = opts.headDim ?? dim / heads;
    this.chunkSize = chunkSize;
    this.batchSize = batchSize;
    this.maxLearningRate = opts.maxLearningRate ?? 1;
    this.innerGradient = innerGradient;
    const p = { dtype: opts.dtype, device: opts.device, generator: opts.generator };
    const inner = heads * this.headDim;
    this.store_norm = new RMSNorm(dim, p);
    this.retrieve_norm = new RMSNorm(dim, p);
    this.to_queries = new Linear(dim, inner, { ...p, bias: false });
    this.to_keys = new Linear(dim, inner, { ...p, bias: false });
    this.to_values = new Linear(dim, inner, { ...p, bias: false });
    this.q_norm = opts.qkRmsNorm ? new RMSNorm(this.headDim, p) : null;
    this.k_norm = opts.qkRmsNorm ? new RMSNorm(this.headDim, p) : null;
    this.to_adaptive_step = new Linear(dim, heads, p);
    this.to_momentum = (opts.momentum ?? true) ? new Linear(dim, heads, p) : null;
    this.to_decay_factor = (opts.forgetGate ?? true) ? new Linear(dim, heads, p) : null;
    this.retrieve_gate = heads > 1 ? new Linear(dim, heads, { ...p, bias: false }) : null;
    this.combine_heads = heads > 1 || inner !== dim ? new Linear(inner, dim, { ...p, bias: false }) : null;
    const memory = opts.memory ?? 'mlp';
    if (memory instanceof MemoryMLP) {
      if (memory.dim !== this.headDim || memory.heads !== heads)
        throw new ArgumentError(`${name}: the memory network is for dim ${memory.dim} × ${memory.heads} heads, expected ${this.headDim} × ${heads}`);
      this.memory_model = memory;
    } else if (memory === 'mlp' || memory === 'linear') {
      this.memory_model = new MemoryMLP(this.headDim, heads, memory === 'linear' ? { ...p, depth: 1, residualNorm: false } : { ...p, depth: opts.memoryDepth, expansion: opts.memoryExpansion });
    } else throw new ArgumentError(`${name}: memory must be 'mlp', 'linear' or a MemoryMLP, got ${String(memory)}`);
  }

  /** Recurrent state elements per sequence: H·P_M·(1 + momentum) fast weights and momentum (+ < C buffered tokens). */
  stateElements(): number {
    return this.heads * this.memory_model.parametersPerHead() * (this.to_momentum ? 2 : 1);
  }

  /** A fresh state for batch size B: W^(0) per head, zero momentum, nothing buffered. */
  initialState(batch: number, params?: Record<string, Tensor>): NeuralMemoryState {
    const get = this.paramGetter(params);
    const weights = this.initialWeights(get, batch);
    return { weights, momentum: weights.map((w) => zeros(w.shape, { dtype: w.dtype, device: w.device })), anchor: null, position: 0, buffer: null, bufferMask: null };
  }

  override forward(x: Tensor, opts: NeuralMemoryForwardOptions = {}): Tensor {
    return this.forwardWithState(x, opts).output;
  }

  /** Stores x into the memory (complete chunks) and retrieves for every token of x; x [B, T, d]. */
  forwardWithState(x: Tensor, opts: NeuralMemoryForwardOptions = {}): NeuralMemoryOutput {
    this.checkInput(x);
    const get = this.paramGetter(opts.params);
    const [B, T] = [x.shape[0]!, x.shape[1]!];
    const C = this.chunkSize;
    const state = opts.state ?? this.initialState(B, opts.params);
    if (state.weights[0]!.shape[0] !== B) throw new ArgumentError(`NeuralMemory: the state is for batch ${state.weights[0]!.shape[0]}, the input has batch ${B}`);
    const r = state.buffer?.shape[1] ?? 0;
    const stream = state.buffer ? cat([state.buffer, x], 1) : x;
    const mask = this.streamMask(state, opts.storeMask ?? null, B, T, x);
    const n = Math.floor((r + T) / C);
    const stored = n * C;

    let weightSeq: Tensor[] = state.weights.map((w) => w.unsqueeze(2)); // [B, H, 1 + n, …]
    let last = { weights: state.weights, momentum: state.momentum, anchor: state.anchor };
    if (n > 0) {
      const res = this.store(get, stream.narrow(1, 0, stored), mask?.narrow(1, 0, stored) ?? null, state, n, opts.gates ?? {});
      weightSeq = weightSeq.map((w, i) => cat([w, res.sequence[i]!], 2));
      last = res.last;
    }
    const output = this.retrieveAligned(get, x, weightSeq, r, n);
    const rest = r + T - stored;
    return {
      output,
      state: {
        ...last,
        position: state.position + stored,
        buffer: rest > 0 ? stream.narrow(1, stored, rest) : null,
        bufferMask: rest > 0 && mask ? mask.narrow(1, stored, rest) : null,
      },
    };
  }

  /**
   * Reads the memory with x's queries without writing (every token reads the state's current weights) — MAC's
   * h_t = M*_{t−1}(q_t). x [B, T, d] → [B, T, d].
   */
  retrieve(x: Tensor, state: NeuralMemoryState | null, params?: Record<string, Tensor>): Tensor {
    this.checkInput(x);
    const get = this.paramGetter(params);
    const weights = state?.weights ?? this.initialWeights(get, x.shape[0]!);
    const q = this.queries(get, x);
    const r = this.memory_model.forward(weights.map((w) => w.unsqueeze(2)), q.unsqueeze(2)).squeeze(2);
    return this.readout(get, x, r);
  }

  /** Writes complete chunks; returns the weights after each chunk ([B, H, n, …]) and the final state parts. */
  private store(get: ParamGetter, xs: Tensor, mask: Tensor | null, state: NeuralMemoryState, n: number, gates: GateOverrides) {
    const [B, H, C, dh] = [xs.shape[0]!, this.heads, this.chunkSize, this.headDim];
    const xh = rmsNorm(xs, [this.dim], get('store_norm.weight'));
    let k = splitHeads(linear(xh, get('to_keys.weight')), H, dh);
    if (this.k_norm) k = rmsNorm(k, [dh], get('k_norm.weight'));
    const v = splitHeads(linear(xh, get('to_values.weight')), H, dh);
    const like = { dtype: xs.dtype, device: xs.device };
    let theta = gates.theta !== undefined ? ones([B, H, n * C], like).mul(gates.theta) : linear(xh, get('to_adaptive_step.weight'), get('to_adaptive_step.bias')).sigmoid().mul(this.maxLearningRate).transpose(1, 2);
    if (mask) theta = theta.mul(mask.unsqueeze(1));
    const pooled = xh.reshape([B, n, C, this.dim]).mean(2);
    const chunkGate = (override: number | undefined, prefix: string, present: boolean): Tensor | null => {
      if (override !== undefined) return ones([B, H, n], like).mul(override);
      return present ? linear(pooled, get(`${prefix}.weight`), get(`${prefix}.bias`)).sigmoid().transpose(1, 2) : null;
    };
    const eta = chunkGate(gates.eta, 'to_momentum', this.to_momentum !== null);
    const alpha = chunkGate(gates.alpha, 'to_decay_factor', this.to_decay_factor !== null);
    const kc = k.reshape([B, H, n, C, dh]);
    const vc = v.reshape([B, H, n, C, dh]);
    const tc = theta.reshape([B, H, n, C]);

    const c0 = state.position / C;
    const b = this.batchSize;
    const miniBatch = (i: number) => (b === null ? 0 : Math.floor(((c0 + i) * C) / b));
    let [W, S, anchor] = [state.weights, state.momentum, state.anchor];
    const pieces: Tensor[][] = [];
    for (let i0 = 0; i0 < n; ) {
      let i1 = i0 + 1;
      while (i1 < n && miniBatch(i1) === miniBatch(i0)) i1++;
      const G = i1 - i0;
      // Evaluation point of this run's gradients: W^(0) without mini-batches; else the mini-batch's start weights.
      let at: Tensor[];
      if (b === null) at = this.initialWeights(get, B);
      else {
        const fresh = ((c0 + i0) * C) % b === 0 || anchor === null;
        at = fresh ? W : anchor!;
        anchor = at;
      }
      const grads = this.innerGradients(at, kc.narrow(2, i0, G), vc.narrow(2, i0, G), tc.narrow(2, i0, G));
      const gate = (g: Tensor | null, w: Tensor) => g!.narrow(2, i0, G).reshape([B, H, G, ...new Array<number>(w.ndim - 3).fill(1)]);
      const Sseq = grads.map((g, j) => {
        const u = g.neg();
        return eta ? linearScan(gate(eta, u), u, 2, S[j]) : u;
      });
      const Wseq = Sseq.map((s, j) => (alpha ? linearScan(gate(alpha, s).neg().add(1), s, 2, W[j]) : linearScan(ones([1, 1, G, ...new Array<number>(s.ndim - 3).fill(1)], like), s, 2, W[j])));
      W = Wseq.map((w) => w.select(2, G - 1));
      S = Sseq.map((s) => s.select(2, G - 1));
      pieces.push(Wseq);
      i0 = i1;
    }
    const sequence = state.weights.map((_, j) => (pieces.length === 1 ? pieces[0]![j]! : cat(pieces.map((p) => p[j]!), 2)));
    // A mini-batch that ended exactly at the last chunk does not continue: the next call starts a fresh one.
    const endsBatch = b !== null && ((c0 + n) * C) % b === 0;
    return { sequence, last: { weights: W, momentum: S, anchor: endsBatch ? null : anchor } };
  }

  /** Σ_t θ_t ∇ℓ per chunk, at weights `at` ([B, H, …]) for chunks k, v [B, H, G, C, d_h], θ [B, H, G, C]. */
  private innerGradients(at: Tensor[], k: Tensor, v: Tensor, theta: Tensor): Tensor[] {
    if (this.innerGradient === 'analytic') return this.memory_model.gradient(at.map((w) => w.unsqueeze(2)), k, v, theta);
    const G = k.shape[2]!;
    const expanded = at.map((w) => w.unsqueeze(2).expand([w.shape[0]!, w.shape[1]!, G, ...w.shape.slice(2)]));
    return this.memory_model.gradientByAutograd(expanded, k, v, theta);
  }

  /** Retrieval with the causal chunk alignment: token at stream position s reads weightSeq[⌊(s+1)/C⌋]. */
  private retrieveAligned(get: ParamGetter, x: Tensor, weightSeq: Tensor[], r: number, n: number): Tensor {
    const C = this.chunkSize;
    const [B, H, T, dh] = [x.shape[0]!, this.heads, x.shape[1]!, this.headDim];
    const q = this.queries(get, x); // [B, H, T, d_h]
    // Group g holds stream positions gC − 1 … gC + C − 2: left-pad by r + 1 (the buffered tokens and the shift).
    const total = (n + 1) * C;
    const padded = pad(q, [0, 0, r + 1, total - (r + 1 + T)]).reshape([B, H, n + 1, C, dh]);
    const read = this.memory_model.forward(weightSeq, padded).reshape([B, H, total, dh]).narrow(2, r + 1, T);
    return this.readout(get, x, read);
  }

  private queries(get: ParamGetter, x: Tensor): Tensor {
    const xr = rmsNorm(x, [this.dim], get('retrieve_norm.weight'));
    const q = splitHeads(linear(xr, get('to_queries.weight')), this.heads, this.headDim);
    return this.q_norm ? rmsNorm(q, [this.headDim], get('q_norm.weight')) : q;
  }

  /** Retrieve gate and head combination: [B, H, T, d_h] → [B, T, d]. */
  private readout(get: ParamGetter, x: Tensor, read: Tensor): Tensor {
    let out = read;
    if (this.retrieve_gate) {
      const xr = rmsNorm(x, [this.dim], get('retrieve_norm.weight'));
      out = out.mul(linear(xr, get('retrieve_gate.weight')).sigmoid().transpose(1, 2).unsqueeze(-1));
    }
    const merged = mergeHeads(out);
    return this.combine_heads ? linear(merged, get('combine_heads.weight')) : merged;
  }

  private initialWeights(get: ParamGetter, batch: number): Tensor[] {
    const names = [...Array.from({ length: this.memory_model.depth }, (_, l) => `memory_model.w${l}`), ...(this.memory_model.residualNorm ? ['memory_model.gamma'] : [])];
    return names.map((n) => {
      const w = get(n);
      return w.unsqueeze(0).expand([batch, ...w.shape]);
    });
  }

  private streamMask(state: NeuralMemoryState, storeMask: Tensor | null, B: number, T: number, like: Tensor): Tensor | null {
    if (!storeMask && !state.bufferMask) return null;
    if (storeMask && (storeMask.ndim !== 2 || storeMask.shape[0] !== B || storeMask.shape[1] !== T))
      throw new ArgumentError(`NeuralMemory: storeMask must be [${B}, ${T}], got [${storeMask.shape.join(', ')}]`);
    const current = storeMask ? storeMask.to(like.dtype) : ones([B, T], { dtype: like.dtype, device: like.device });
    if (!state.buffer) return current;
    const previous = state.bufferMask ?? ones([B, state.buffer.shape[1]!], { dtype: like.dtype, device: like.device });
    return cat([previous, current], 1);
  }

  private checkInput(x: Tensor): void {
    if (x.ndim !== 3 || x.shape[2] !== this.dim) throw new ArgumentError(`NeuralMemory: expected input [batch, tokens, ${this.dim}], got [${x.shape.join(', ')}]`);
  }

  private paramGetter(overrides?: Record<string, Tensor>): ParamGetter {
    const table = new Map(this.namedParameters());
    return (name: string) => {
      const t = overrides?.[name] ?? table.get(name);
      if (!t) throw new ArgumentError(`NeuralMemory: no parameter named '${name}'`);
      return t;
    };
  }

  override extraRepr(): string {
    return `dim=${this.dim}, heads=${this.heads}, headDim=${this.headDim}, chunkSize=${this.chunkSize}, batchSize=${this.batchSize}, innerGradient=${this.innerGradient}`;
  }
}

type ParamGetter = (name: string) => Tensor;

/** A copy of the state cut from the autograd graph (truncated backprop between segments). */
export function detachMemoryState(state: NeuralMemoryState): NeuralMemoryState {
  return {
    weights: state.weights.map((w) => w.detach()),
    momentum: state.momentum.map((m) => m.detach()),
    anchor: state.anchor?.map((a) => a.detach()) ?? null,
    position: state.position,
    buffer: state.buffer?.detach() ?? null,
    bufferMask: state.bufferMask?.detach() ?? null,
  };
}
