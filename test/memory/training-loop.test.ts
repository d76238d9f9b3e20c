/**
 * A long training loop must run in constant memory: 2,000 steps of a small MLP regression with manual SGD, each step
 * inside scope(), gradients zeroed in place. Live buffers and bytes are sampled along the way and must not grow.
 */
import { describe, expect, it } from 'vitest';
import { Generator, memoryStats, noGrad, randn, scope, tensor, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { useBackend } from '../conformance/helpers.js';

const STEPS = 2000;

describe.each(BACKENDS)('long training loop (%s)', (name) => {
  useBackend(name);

  it(`${STEPS} SGD steps of an MLP keep live buffers and bytes flat`, async () => {
    const g = new Generator(42);
    const x = randn([32, 3], { generator: g });
    const trueW = tensor([[1.5], [-2], [0.5]]);
    const y = scope(() => x.matmul(trueW).add(0.3).tanh());
    // No dropped handles: a GC finalizer freeing one mid-loop (during an await on an async backend) would move the counts.
    trueW.dispose();
    const init = (shape: number[], scale: number) => noGrad(() => scope(() => randn(shape, { generator: g }).mul(scale))).requiresGrad_();
    const params: Tensor[] = [init([3, 16], 0.5), init([16], 0), init([16, 1], 0.25), init([1], 0)];
    const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];

    const step = (): Tensor =>
      scope(() => {
        const hidden = x.matmul(w1).add(b1).relu();
        const loss = hidden.matmul(w2).add(b2).sub(y).square().mean();
        loss.backward();
        noGrad(() => {
          for (const p of params) {
            p.sub_(p.grad!.mul(0.1));
            p.grad!.zero_();
          }
        });
        return loss.detach();
      });

    const first = step();
    const firstLoss = await first.item();
    first.dispose();
    const samples: { buffers: number; bytes: number }[] = [];
    let last = firstLoss;
    for (let i = 1; i < STEPS; i++) {
      const loss = step();
      if (i === STEPS - 1) last = await loss.item();
      loss.dispose();
      if (i === 10 || i % 500 === 0 || i === STEPS - 1) samples.push({ ...memoryStats()[name]! });
    }
    for (const s of samples) expect(s).toEqual(samples[0]);
    expect(last).toBeLessThan(firstLoss * 0.2); // and it actually trained
  });
});
