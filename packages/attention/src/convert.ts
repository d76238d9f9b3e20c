/**
 * MHA → GQA/MQA checkpoint conversion (Ainslie et al. 2023 §2.1; spec §4.3): the H heads are grouped into H_kv
 * contiguous groups of g = H/H_kv, and each group's new K (and V) projection is the mean of its heads' projections.
 * Contiguous groups match the runtime mapping ⌊h/g⌋, so W_Q and W_O stay as they are.
 */
import { ArgumentError, fmtShape, noGrad, ShapeError, Tensor } from '@tessera/core';
import type { StateDict } from '@tessera/nn';
import { GroupedQueryAttention, type GroupedQueryAttentionOptions } from './grouped.js';

/**
 * Mean-pools the per-head blocks of a K or V projection weight [H·d_h, in] (or bias [H·d_h]) over contiguous groups
 * of H/H_kv heads → [H_kv·d_h, in] (or [H_kv·d_h]).
 */
export function meanPoolHeads(param: Tensor, numHeads: number, numKvHeads: number): Tensor {
  if (!Number.isInteger(numKvHeads) || numKvHeads < 1 || numHeads % numKvHeads !== 0)
    throw new ArgumentError(`meanPoolHeads: numKvHeads ${numKvHeads} must be a positive divisor of numHeads ${numHeads}`);
  const rows = param.shape[0];
  if ((param.ndim !== 1 && param.ndim !== 2) || rows === undefined || rows % numHeads !== 0)
    throw new ShapeError(`meanPoolHeads: expected a projection weight [H·d_h, in] or bias [H·d_h] with H = ${numHeads}, got ${fmtShape(param.shape)}`);
  const headDim = rows / numHeads;
  const g = numHeads / numKvHeads;
  const rest = param.shape.slice(1);
  return noGrad(() => param.reshape([numKvHeads, g, headDim, ...rest]).mean(1).reshape([numKvHeads * headDim, ...rest]));
}

export interface ConvertToGqaOptions {
  numHeads: number;
  numKvHeads: number;
  /** Names of the K and V projection submodules (default 'k_proj', 'v_proj'). */
  keyName?: string;
  valueName?: string;
}

/**
 * Converts a state dict with MHA K/V projections (any prefix; `…k_proj.weight`, `…k_proj.bias`, same for v) to one
 * with H_kv heads by mean-pooling. Every other entry is passed through unchanged (same tensors).
 */
export function convertMhaToGqaStateDict(state: StateDict, opts: ConvertToGqaOptions): StateDict {
  const { numHeads, numKvHeads, keyName = 'k_proj', valueName = 'v_proj' } = opts;
  const pooled = new RegExp(`(^|\\.)(${escape(keyName)}|${escape(valueName)})\\.(weight|bias)$`);
  const out: StateDict = {};
  let converted = 0;
  for (const [key, t] of Object.entries(state)) {
    if (pooled.test(key)) {
      out[key] = meanPoolHeads(t, numHeads, numKvHeads);
      converted++;
    } else out[key] = t;
  }
  if (converted === 0) throw new ArgumentError(`convertMhaToGqaStateDict: no '${keyName}' or '${valueName}' weights found among ${Object.keys(state).length} entries`);
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A new attention module with `numKvHeads` KV heads whose weights are the mean-pooled conversion of `mha`'s (which
 * must have numKvHeads = numHeads). `opts` are the options `mha` was built with (for RoPE, bias, window, …).
 */
export function convertMhaToGqa(mha: GroupedQueryAttention, numKvHeads: number, opts: Partial<GroupedQueryAttentionOptions> = {}): GroupedQueryAttention {
  if (mha.numKvHeads !== mha.numHeads)
    throw new ArgumentError(`convertMhaToGqa: the source must be MHA (numKvHeads = numHeads = ${mha.numHeads}), got numKvHeads ${mha.numKvHeads}`);
  const weight = mha.q_proj.weight;
  const gqa = new GroupedQueryAttention({
    rope: mha.rotary ? { theta: mha.rotary.theta, convention: mha.rotary.convention, rotaryDim: mha.rotary.rotaryDim } : null,
    causal: mha.causal,
    slidingWindow: mha.slidingWindow,
    bias: mha.q_proj.bias !== null,
    outputBias: mha.o_proj.bias !== null,
    ...(mha.scoreFunction === 'sigmoid' ? { scoreFunction: 'sigmoid' as const, sigmoidBias: mha.sigmoidBias } : {}),
    dtype: weight.dtype,
    device: weight.device,
    ...opts,
    hiddenSize: mha.hiddenSize,
    numHeads: mha.numHeads,
    headDim: mha.headDim,
    numKvHeads,
  });
  gqa.loadStateDict(convertMhaToGqaStateDict(mha.stateDict(), { numHeads: mha.numHeads, numKvHeads }));
  return gqa;
}
