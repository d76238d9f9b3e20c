/**
 * Token sampling and autoregressive generation for causal language models. Every step runs on the device with
 * tensor ops (argmax, top-k/top-p filtering, inverse-CDF sampling from a seeded Generator); the only readback is the
 * optional end-of-sequence check.
 */
import { ArgumentError, cat, DTypeError, fmtShape, full, rand, scope, setGradEnabled, ShapeError, tensor, Tensor, type Generator } from '@tessera/core';

export interface SamplingOptions {
  /** Sample from the distribution (true) or take the argmax (false, default: greedy). */
  doSample?: boolean;
  /** Divide the logits by this before filtering (default 1). */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off, default). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (nucleus; 1 = off, default). */
  topP?: number;
  /** Source of the sampling randomness (the default generator otherwise). */
  generator?: Generator;
}

/** Logits [..., V] with everything below the k-th largest value set to −∞. */
export function topKFilter(logits: Tensor, k: number): Tensor {
  const V = logits.shape.at(-1)!;
  if (!Number.isInteger(k) || k < 0) throw new ArgumentError(`topKFilter: k must be a non-negative integer, got ${k}`);
  if (k === 0 || k >= V) return logits;
  const kth = logits.topk(k, -1).values.narrow(-1, k - 1, 1);
  return logits.maskedFill(logits.lt(kth), -Infinity);
}

/**
 * Logits [..., V] restricted to the nucleus: tokens sorted by probability are kept while the probability mass
 * before them is ≤ p (so the most likely token always stays), the rest set to −∞.
 */
export function topPFilter(logits: Tensor, p: number): Tensor {
  if (!(p > 0 && p <= 1)) throw new ArgumentError(`topPFilter: p must be within (0, 1], got ${p}`);
  if (p === 1) return logits;
  const { values, indices } = logits.sort(-1, true);
  const probs = values.softmax(-1);
  const before = probs.cumsum(-1).sub(probs);
  const kept = values.maskedFill(before.gt(p), -Infinity);
  return full(logits.shape, -Infinity, { dtype: logits.dtype, device: logits.device }).scatter(-1, indices, kept);
}

/** Next token ids (int32 [B]) from last-position logits [B, V]. */
export function sampleNextToken(logits: Tensor, opts: SamplingOptions = {}): Tensor {
  if (logits.ndim !== 2) throw new ShapeError(`sampleNextToken: expected logits [batch, vocab], got ${fmtShape(logits.shape)}`);
  const { doSample = false, temperature = 1, topK = 0, topP = 1 } = opts;
  if (!doSample) return logits.argmax(-1);
  if (!(temperature > 0)) throw new ArgumentError(`sampleNextToken: temperature must be positive when sampling, got ${temperature}`);
  const V = logits.shape[1]!;
  const filtered = topPFilter(topKFilter(temperature === 1 ? logits : logits.div(temperature), topK), topP);
  // Inverse CDF: the sampled index is the number of cumulative probabilities below u.
  const cdf = filtered.softmax(-1).cumsum(-1);
  const u = rand([logits.shape[0]!, 1], { dtype: cdf.dtype, device: cdf.device, generator: opts.generator });
  return cdf.lt(u).to('int32').sum(-1).minimum(V - 1).to('int32');
}

/** What `generate` needs from a model: a forward over new token ids with an optional cache. */
export interface CausalLanguageModel<C extends { dispose(): void }> {
  forward(ids: Tensor, opts: { cache?: C | null }): Tensor;
  createCache(): C;
}

export interface GenerateOptions extends SamplingOptions {
  /** Number of tokens to add. */
  maxNewTokens: number;
  /** Stop a row at this token (it keeps emitting it); stop early when every row has finished. */
  eosTokenId?: number | null;
  /** Decode with the model's KV cache (default true); false recomputes the whole prefix each step. */
  useCache?: boolean;
}

/**
 * Autoregressive generation: prompt ids int32 [B, T] → [B, T + n] with n ≤ maxNewTokens. Greedy by default;
 * temperature / top-k / top-p sampling with `doSample`, reproducible with a seeded `generator`. Runs without
 * recording gradients and frees every intermediate.
 */
export async function generate<C extends { dispose(): void }>(model: CausalLanguageModel<C>, inputIds: Tensor, opts: GenerateOptions): Promise<Tensor> {
  const { maxNewTokens, eosTokenId = null, useCache = true } = opts;
  if (inputIds.dtype !== 'int32') throw new DTypeError(`generate: inputIds must be int32, got ${inputIds.dtype}`);
  if (inputIds.ndim !== 2 || inputIds.shape[1] === 0) throw new ShapeError(`generate: inputIds must be a non-empty [batch, tokens], got ${fmtShape(inputIds.shape)}`);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new ArgumentError(`generate: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  const prev = setGradEnabled(false);
  const cache = useCache ? model.createCache() : null;
  let ids = inputIds;
  let step = inputIds;
  const finished = new Array<boolean>(inputIds.shape[0]!).fill(false);
  try {
    for (let i = 0; i < maxNewTokens; i++) {
      const [nextIds, nextStep] = scope(() => {
        const logits = model.forward(useCache ? step : ids, { cache });
        let tok = sampleNextToken(logits.select(1, -1), opts);
        // Finished rows keep emitting EOS.
        if (eosTokenId !== null && finished.some(Boolean)) tok = tok.maskedFill(tensor([...finished], { device: tok.device }), eosTokenId);
        const col = tok.unsqueeze(1);
        return [cat([ids, col], 1), col];
      });
      if (ids !== inputIds) ids.dispose();
      if (step !== inputIds) step.dispose();
      [ids, step] = [nextIds, nextStep];
      if (eosTokenId !== null) {
        const toks = await step.data();
        toks.forEach((t, r) => (finished[r] = finished[r] || t === eosTokenId));
        if (finished.every(Boolean)) break;
      }
    }
  } finally {
    cache?.dispose();
    setGradEnabled(prev);
    if (step !== inputIds && step !== ids) step.dispose();
  }
  return ids;
}
