/**
 * Where a tiny-GPT training step's time goes on one of our backends: forward (to the loss), backward and the Adam
 * update, each waited for separately. A diagnostic beside `pnpm bench`, not part of it.
 *
 *   npx tsx bench/gpt-breakdown.ts [--backend cpu|webgpu] [--threads N] [--steps N]
 */
import { parseArgs } from 'node:util';
import { Generator, randint, scope, setBackend, type Tensor } from '@tessera/core';
import { Adam, crossEntropy } from '@tessera/nn';
import { TINY_GPT } from './cases/gpt.js';
import { TinyGPT } from './models/tiny-gpt.js';
import { useLavapipe } from './peers/dawn.js';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'cpu' }, threads: { type: 'string', default: '1' }, steps: { type: 'string', default: '8' } } });
const device = values.backend!;
if (device === 'webgpu') {
  useLavapipe();
  await (await import('@tessera/backend-webgpu')).initWebGPU();
} else (await import('@tessera/backend-cpu')).setNumThreads(Number(values.threads));
setBackend(device);

const gen = new Generator(1);
const model = new TinyGPT(TINY_GPT, { device, generator: gen });
const params = model.parameters();
const optimizer = new Adam(params, { lr: 1e-3 });
const shape = [TINY_GPT.batch, TINY_GPT.context];
const [x, y] = [randint(0, TINY_GPT.vocab, shape, { device, generator: gen }), randint(0, TINY_GPT.vocab, shape, { device, generator: gen })];
const wait = async (t: Tensor) => void (await t.reshape([-1]).narrow(0, 0, 1).data());

const steps = Number(values.steps);
const warmup = Math.min(3, steps - 1);
const total = { forward: 0, backward: 0, adam: 0 };
for (let i = 0; i < steps; i++) {
  // One async scope per step: the forward's saved tensors must live until backward has run.
  const [t0, t1, t2, t3, value] = await scope(async () => {
    const t0 = performance.now();
    const loss = crossEntropy(model.forward(x).flatten(0, 1), y.flatten());
    await wait(loss);
    const t1 = performance.now();
    optimizer.zeroGrad();
    loss.backward();
    await wait(params.at(-1)!.grad!);
    const t2 = performance.now();
    optimizer.step();
    await wait(params.at(-1)!);
    return [t0, t1, t2, performance.now(), await loss.item()] as const;
  });
  if (i >= warmup) [total.forward, total.backward, total.adam] = [total.forward + t1 - t0, total.backward + t2 - t1, total.adam + t3 - t2];
  console.log(`step ${i + 1}: loss ${value.toFixed(4)}, ${(t3 - t0).toFixed(0)} ms`);
}
const n = steps - warmup;
const ms = (v: number) => `${(v / n).toFixed(1)} ms`;
console.log(`${device}${device === 'cpu' ? `, ${values.threads} thread(s)` : ''}, mean of ${n} steps after ${warmup}: forward ${ms(total.forward)}, backward ${ms(total.backward)}, Adam ${ms(total.adam)}`);
process.exit(0);
