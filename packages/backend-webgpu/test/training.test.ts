/** End to end on WebGPU: a tiny MLP trains with falling loss, and a training loop runs in constant GPU memory. */
import { describe, expect, it } from 'vitest';
import { Generator, memoryStats, noGrad, randn, scope, tensor, type Tensor } from '@tessera/core';
import { gpu } from './helpers.js';

const device = 'webgpu';

/** A 2-16-2 MLP on XOR-like data with softmax cross-entropy and SGD; returns the losses read every `every` steps. */
async function train(steps: number, every: number): Promise<{ losses: number[]; memory: { buffers: number; bytes: number }[] }> {
  const g = new Generator(7);
  const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1], [0.1, 0.9], [0.9, 0.1], [0.9, 0.9], [0.1, 0.1]], { device });
  const labels = tensor([0, 1, 1, 0, 1, 1, 0, 0], { dtype: 'int32', device }).reshape([8, 1]);
  const init = (shape: number[], scale: number) => noGrad(() => randn(shape, { generator: g, device }).mul(scale)).requiresGrad_();
  const params: Tensor[] = [init([2, 16], 1), init([16], 0.1), init([16, 2], 0.5), init([2], 0.1)];
  const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
  const losses: number[] = [];
  const memory: { buffers: number; bytes: number }[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = scope(() => {
      const logits = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2);
      const l = logits.logSoftmax(-1).gather(1, labels).mean().neg();
      l.backward();
      noGrad(() => {
        for (const p of params) {
          p.sub_(p.grad!.mul(0.5));
          p.grad!.zero_();
        }
      });
      return l.detach();
    });
    if (step % every === 0 || step === steps - 1) {
      losses.push(await loss.item());
      memory.push({ ...memoryStats()[device]! });
    }
    loss.dispose();
  }
  for (const t of [x, labels, ...params]) {
    t.grad?.dispose();
    t.dispose();
  }
  return { losses, memory };
}

describe('training on webgpu', () => {
  it('a tiny MLP learns XOR: the loss falls', async () => {
    const { losses } = await scope(() => train(150, 25));
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    expect(losses.at(-1)!).toBeLessThan(0.35);
  });

  it('live GPU buffers and bytes stay flat over the loop and return to the start afterwards', async () => {
    const before = gpu.memory();
    // The async scope releases the setup's intermediates (randn before scaling, the labels before reshape).
    const { memory } = await scope(() => train(120, 10));
    for (const m of memory.slice(1)) expect(m).toEqual(memory[0]);
    expect(gpu.memory()).toEqual(before);
  });
});
