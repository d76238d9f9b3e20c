/**
 * The chunk allocator: tensors are chunks of shared slabs, bound with dynamic offsets, so a loop that reuses its
 * memory reuses its bind groups. Binding rules WebGPU enforces per dispatch (no two writable bindings of one range,
 * no read-only binding sharing a buffer with a writable one) must hold whatever chunks an op gets.
 */
import { describe, expect, it } from 'vitest';
import { backendByName, randn, scope, tensor, type Tensor } from '@tessera/core';
import { gpu } from './helpers.js';

const device = 'webgpu';
const close = async (a: Tensor, b: number[]) => {
  const got = await a.data();
  b.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
};

describe('webgpu chunks in shared slabs', () => {
  it('an op that binds one chunk twice (x·x) and read-only inputs beside their output (x @ x)', async () => {
    const x = tensor([[1, 2], [3, 4]], { device });
    await close(x.mul(x), [1, 4, 9, 16]);
    await close(x.matmul(x), [7, 10, 15, 22]);
    const y = randn([64, 64], { device });
    const yr = await y.toAsync('reference');
    const want = await yr.matmul(yr).data();
    const got = await y.matmul(y).data();
    for (let i = 0; i < want.length; i += 97) expect(got[i]).toBeCloseTo(want[i]!, 3);
  });

  it('a repeated step creates (almost) no new bind groups once its chunks come from the pool', async () => {
    const dev = gpu.device;
    const create = dev.createBindGroup.bind(dev);
    let made = 0;
    dev.createBindGroup = (d) => {
      made++;
      return create(d);
    };
    try {
      const w = randn([32, 32], { device });
      const step = () => scope(() => w.matmul(w).relu().add(1).mul(w).sum()).item();
      const perStep: number[] = [];
      for (let i = 0; i < 6; i++) {
        made = 0;
        await step();
        perStep.push(made);
      }
      expect(perStep.slice(2).every((n) => n <= 1)).toBe(true);
    } finally {
      dev.createBindGroup = create;
    }
  });

  it('live chunks return to the baseline after a scope', async () => {
    const backend = backendByName(device) as unknown as { memory(): { buffers: number; bytes: number } };
    const before = backend.memory();
    scope(() => {
      const a = randn([300, 7], { device });
      return a.mul(a).exp().sum();
    }).dispose();
    expect(backend.memory()).toEqual(before);
  });
});
