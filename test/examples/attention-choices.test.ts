/**
 * Every `--attention` choice of the GPT example builds, trains one step (finite loss, gradients reach the attention
 * weights) and is causal; and every self-attention module @tessera/attention exports is one of the choices, so a
 * newly exported module cannot be forgotten.
 */
import * as attention from '@tessera/attention';
import { Generator, setBackend, tensor } from '@tessera/core';
import { crossEntropy, Module } from '@tessera/nn';
import { describe, expect, it } from 'vitest';
import { ATTENTION_CHOICES, availableAttention } from '../../examples/train-gpt/attention-choices.js';
import { GPT, type GPTConfig } from '../../examples/train-gpt/model.js';

/** Exports that are not causal self-attention over one sequence, so not GPT block choices. */
const NOT_BLOCK_ATTENTION: Record<string, string> = {
  CrossAttention: 'attends to a second sequence',
  CrossViTAttentionBlock: 'attends to a second sequence',
  CrossViTFusion: 'attends to a second sequence',
  DecoderLM: 'a whole language model (the GPT example plays this role)',
  DecoderLayer: 'a whole decoder block (the GPT example has its own)',
};

const tiny = (name: string): GPTConfig => ({ vocabSize: 11, blockSize: 8, hiddenSize: 16, numLayers: 2, numHeads: 2, numKvHeads: 1, window: 3, attention: name });

describe('GPT example attention choices', () => {
  setBackend('reference');

  it.each(availableAttention())('%s trains a step and is causal', async (name) => {
    const model = new GPT(tiny(name), { generator: new Generator(1) });
    const ids = tensor([[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]], { dtype: 'int32' });
    const target = tensor([2, 3, 4, 5, 6, 7, 8, 9, 7, 6, 5, 4, 3, 2, 1, 0], { dtype: 'int32' });
    const logits = model.forward(ids);
    expect(logits.shape).toEqual([2, 8, 11]);
    let loss = crossEntropy(logits.flatten(0, 1), target);
    const aux = ATTENTION_CHOICES[name]!.auxLoss?.(model);
    if (aux) loss = loss.add(aux);
    const value = await loss.item();
    expect(Number.isFinite(value)).toBe(true);
    loss.backward();
    const attnGrads = model.namedParameters().filter(([k, p]) => k.startsWith('blocks.0.attn.') && p.grad);
    expect(attnGrads.length).toBeGreaterThan(0);

    // Changing the last token must not change the logits of the earlier positions.
    model.eval();
    const a = await model.forward(ids).narrow(1, 0, 7).data();
    const b = await model.forward(tensor([[1, 2, 3, 4, 5, 6, 7, 0], [8, 7, 6, 5, 4, 3, 2, 9]], { dtype: 'int32' })).narrow(1, 0, 7).data();
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
  });

  it('covers every self-attention module the attention package exports', () => {
    const exportedModules = Object.entries(attention).filter(([, v]) => typeof v === 'function' && v.prototype instanceof Module) as [string, Function][];
    const used = new Set<Function>();
    for (const name of availableAttention())
      for (const m of new GPT(tiny(name)).modules()) used.add(m.constructor);
    const missing = exportedModules.filter(([k, cls]) => !used.has(cls) && !(k in NOT_BLOCK_ATTENTION)).map(([k]) => k);
    expect(missing, 'add a line to ATTENTION_CHOICES in examples/train-gpt/attention-choices.ts').toEqual([]);
  });
});
