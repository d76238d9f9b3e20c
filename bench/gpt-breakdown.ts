/**
 * Where a tiny-GPT training step's time goes on one of our backends: forward (to the loss), backward and the Adam
 * update, each waited for separately. A diagnostic beside `pnpm bench`, not part of it.
 *
 *   npx tsx bench/gpt-breakdown.ts [--backend cpu|webgpu] [--threads N] [--steps N]
 */
import { parseArgs } from 'node:util';
import { scope, setBackend } from '@tessera/core';
import { settle, tinyGptTraining } from './models/tiny-gpt-training.js';
import { useLavapipe } from './peers/dawn.js';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'cpu' }, threads: { type: 'string', default: '1' }, steps: { type: 'string', default: '8' } } });
const device = values.backend!;
if (device === 'webgpu') {
  useLavapipe();
  await (await import('@tessera/backend-webgpu')).initWebGPU();
} else (await import('@tessera/backend-cpu')).setNumThreads(Number(values.threads));
setBackend(device);

const { params, optimizer, loss: lossOf } = tinyGptTraining(device);

const steps = Number(values.steps);
const warmup = Math.min(3, steps - 1);
const total = { forward: 0, backward: 0, adam: 0 };
for (let i = 0; i < steps; i++) {
  // One async scope per step: the forward's saved tensors must live until backward has run.
  const [t0, t1, t2, t3, value] = await scope(async () => {
    const t0 = performance.now();
    const loss = lossOf();
    await settle(loss);
    const t1 = performance.now();
    optimizer.zeroGrad();
    loss.backward();
    await settle(params.at(-1)!.grad!);
    const t2 = performance.now();
    optimizer.step();
    await settle(params.at(-1)!);
    return [t0, t1, t2, performance.now(), await loss.item()] as const;
  });
  if (i >= warmup) [total.forward, total.backward, total.adam] = [total.forward + t1 - t0, total.backward + t2 - t1, total.adam + t3 - t2];
  console.log(`step ${i + 1}: loss ${value.toFixed(4)}, ${(t3 - t0).toFixed(0)} ms`);
}
const n = steps - warmup;
const ms = (v: number) => `${(v / n).toFixed(1)} ms`;
console.log(`${device}${device === 'cpu' ? `, ${values.threads} thread(s)` : ''}, mean of ${n} steps after ${warmup}: forward ${ms(total.forward)}, backward ${ms(total.backward)}, Adam ${ms(total.adam)}`);
process.exit(0);
