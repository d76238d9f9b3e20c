/**
 * The tiny GPT's training set-up shared by the bench, gpt-breakdown and webgpu-probe: the model from seed 1, Adam
 * (lr 1e-3), one random batch, and its cross-entropy loss.
 */
import { Generator, randint, scope, type Tensor } from '@tessera/core';
import { Adam, crossEntropy } from '@tessera/nn';
import { TINY_GPT } from '../cases/gpt.js';
import { TinyGPT } from './tiny-gpt.js';

export function tinyGptTraining(device: string) {
  const gen = new Generator(1);
  const model = new TinyGPT(TINY_GPT, { device, dtype: 'float32', generator: gen });
  const params = model.parameters();
  const optimizer = new Adam(params, { lr: 1e-3 });
  const shape = [TINY_GPT.batch, TINY_GPT.context];
  const x = randint(0, TINY_GPT.vocab, shape, { device, generator: gen });
  const y = randint(0, TINY_GPT.vocab, shape, { device, generator: gen });
  const loss = (): Tensor => crossEntropy(model.forward(x).flatten(0, 1), y.flatten());
  return { model, params, optimizer, x, y, loss };
}

/**
 * Waits until t's values exist by reading one element, so queued (GPU) work is counted without a big copy. The
 * probe views are disposed at once: a dropped view keeps t's buffer alive until a GC, and every run would then get
 * fresh heap pages whose first-touch faults get timed (5× on the cpu backend's a*b+c).
 */
export async function settle(t: Tensor): Promise<void> {
  if (t.numel() === 0) return;
  const probe = scope(() => t.reshape([-1]).narrow(0, 0, 1));
  await probe.data();
  probe.dispose();
}
