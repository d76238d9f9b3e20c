/**
 * Text generation from the GPT: the context is cropped to the last `blockSize` characters, the next one is drawn by
 * `sampleNextToken` from @tessera/attention (temperature, top-k, top-p, seeded), one character per forward.
 */
import { sampleNextToken } from '@tessera/attention';
import { noGrad, scope, tensor, type Generator } from '@tessera/core';
import type { CharVocab } from './data.js';
import type { GPT } from './model.js';

export interface SampleOptions {
  length: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  generator?: Generator;
  /** Called with each new character (for streaming output). */
  onChar?: (c: string) => void;
}

/** Continues `prompt` by `length` characters; returns only the new text. Leaves the model in the mode it found. */
export async function sampleText(model: GPT, vocab: CharVocab, prompt: string, opts: SampleOptions): Promise<string> {
  const wasTraining = model.training;
  model.eval();
  const ids = Array.from(vocab.encode(prompt.length > 0 ? prompt : '\n'));
  const block = model.config.blockSize;
  let out = '';
  try {
    for (let i = 0; i < opts.length; i++) {
      const next = scope(() =>
        noGrad(() => {
          const context = ids.slice(-block);
          const logits = model.forward(tensor(context, { dtype: 'int32' }).unsqueeze(0));
          return sampleNextToken(logits.select(1, -1), {
            doSample: true,
            temperature: opts.temperature ?? 1,
            topK: opts.topK ?? 0,
            topP: opts.topP ?? 1,
            generator: opts.generator,
          });
        }),
      );
      const id = (await next.data())[0]!;
      next.dispose();
      ids.push(id);
      const c = vocab.decode([id]);
      out += c;
      opts.onChar?.(c);
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}
