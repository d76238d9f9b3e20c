import * as T from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { cpu } from './helpers.js';

describe('training loop memory on the cpu backend', () => {
  it('thousands of small steps inside scope keep live buffers and the heap flat', () => {
    T.setBackend('cpu');
    const gen = new T.Generator(1);
    const x = T.randn([32, 8], { generator: gen });
    const y = T.randint(0, 3, [32], { generator: gen });
    const w1 = T.randn([8, 16], { generator: gen }).mul(0.3).detach().requiresGrad_();
    const b1 = T.zeros([16], { requiresGrad: true });
    const w2 = T.randn([16, 3], { generator: gen }).mul(0.3).detach().requiresGrad_();
    const params = [w1, b1, w2];
    const step = () =>
      T.scope(() => {
        const { value, grads } = T.valueAndGrad((a: T.Tensor, b: T.Tensor, c: T.Tensor) => {
          const h = x.matmul(a).add(b).gelu();
          const logits = T.layerNorm(h, [16]).matmul(c);
          return logits.logSoftmax(-1).gather(1, y.unsqueeze(1)).mean().neg();
        })(w1, b1, w2);
        T.noGrad(() => params.forEach((p, i) => p.sub_(grads[i]!.mul(0.1))));
        return value.itemSync();
      });
    const losses = [step()];
    for (let i = 0; i < 50; i++) step();
    const live = T.memoryStats().cpu!;
    const heap = cpu.heapStats();
    for (let i = 0; i < 2000; i++) losses.push(step());
    expect(T.memoryStats().cpu).toEqual(live);
    expect(cpu.heapStats().memoryBytes).toBe(heap.memoryBytes);
    expect(cpu.heapStats().usedBytes).toBe(heap.usedBytes);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    T.setBackend('reference');
  });
});
