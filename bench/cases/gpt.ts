import type { BenchCase } from '../harness.js';

/**
 * The tiny GPT of the training-step target: pre-LayerNorm blocks, learned positions, 4× MLP with tanh-GELU,
 * biases on every Linear except the untied output head.
 */
export const TINY_GPT = { vocab: 256, dModel: 128, heads: 4, layers: 2, context: 128, batch: 8, mlpRatio: 4 };

/** Parameter count from the architecture above; 478,720 for TINY_GPT (checked against the built models). */
export function tinyGptParameterCount(c = TINY_GPT): number {
  const d = c.dModel;
  const layerNorm = 2 * d;
  const linear = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);
  const block = 2 * layerNorm + linear(d, 3 * d) + linear(d, d) + linear(d, c.mlpRatio * d) + linear(c.mlpRatio * d, d);
  return c.vocab * d + c.context * d + c.layers * block + layerNorm + linear(d, c.vocab, false);
}

const tokens = TINY_GPT.batch * TINY_GPT.context;

/** `captured`: Tessera replays the forward and backward with capture() (peers run their usual eager step). */
function gptCase(family: string, threads: number, captured = false): BenchCase {
  const { vocab, dModel, heads, layers, context, batch } = TINY_GPT;
  return {
    id: `GPT train step${captured ? ' (captured)' : ''} · ${threads}t`,
    family,
    kind: 'gptStep',
    params: { ...TINY_GPT, expectedParameters: tinyGptParameterCount(), ...(captured ? { captured: 1 } : {}) },
    threads,
    metric: { unit: 'ms', tokens },
    about:
      `forward, cross-entropy, backward and Adam on a ${tinyGptParameterCount().toLocaleString('en-US')}-parameter GPT ` +
      `(vocab ${vocab}, d ${dModel}, ${heads} heads, ${layers} layers, context ${context}, batch ${batch})` +
      (captured ? '; Tessera replays its forward and backward with capture(), Adam runs eagerly' : ''),
  };
}

export const gptCases: BenchCase[] = [1, 2].map((t) => gptCase('tiny GPT training step', t));
export const webgpuGptCases: BenchCase[] = [gptCase('webgpu: tiny GPT training step', 2), gptCase('webgpu: tiny GPT training step', 2, true)];
