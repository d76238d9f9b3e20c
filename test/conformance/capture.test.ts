/**
 * capture(): a replayed step must give what running the step's code again gives, on every backend (native replay on
 * webgpu, re-running elsewhere), and must never touch memory that is not its own.
 */
import { describe, expect, it } from 'vitest';
import { capture, memoryStats, noGrad, randn, scope, tensor, Generator, type Tensor } from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { lcg, vals } from './helpers.js';

/** A two-layer MLP regression step: forward, MSE, backward (the optimizer runs outside the capture). */
function model(device: string) {
  const gen = new Generator(3);
  const p = {
    w1: randn([6, 16], { device, generator: gen }).mul(0.3).requiresGrad_(),
    b1: tensor(lcg(1, 16), { device }).requiresGrad_(),
    w2: randn([16, 3], { device, generator: gen }).mul(0.3).requiresGrad_(),
  };
  const params = [p.w1, p.b1, p.w2];
  const x = tensor(lcg(2, 40), { device }).reshape([8, 5]).narrow(1, 0, 5); // replaced by copy_ below
  const input = tensor(lcg(2, 48), { device }).reshape([8, 6]);
  const target = tensor(lcg(3, 24), { device }).reshape([8, 3]);
  x.dispose();
  const loss = () => input.matmul(p.w1).add(p.b1).tanh().matmul(p.w2).sub(target).square().mean();
  const step = () => {
    const l = loss();
    l.backward();
    return l.detach();
  };
  const sgd = () => noGrad(() => params.forEach((q) => q.sub_(q.grad!.mul(0.1))));
  const batch = (k: number) => {
    input.copy_(tensor(lcg(10 + k, 48), { device }).reshape([8, 6]));
    target.copy_(tensor(lcg(20 + k, 24), { device }).reshape([8, 3]));
  };
  return { params, step, sgd, batch, input };
}

describe.each(BACKENDS)('capture() on %s', (device) => {
  it('replays a training step with the numbers of eager steps, seeing new batches and updated parameters', async () => {
    const eager = model(device);
    const cap = model(device);
    const eagerLosses: number[] = [];
    const capLosses: number[] = [];
    eager.batch(0);
    cap.batch(0);
    const captured = capture(cap.step, { grads: cap.params, device });
    cap.sgd();
    capLosses.push(await captured.outputs.item());
    for (let k = 0; k < 4; k++) {
      if (k > 0) {
        eager.batch(k);
        cap.batch(k);
        const out = captured.replay();
        expect(out).toBe(captured.outputs);
        cap.sgd();
        capLosses.push(await out.item());
      }
      const l = scope(() => {
        for (const q of eager.params) q.grad = null;
        const l = eager.step();
        eager.sgd();
        return l;
      });
      eagerLosses.push(await l.item());
      l.dispose();
    }
    for (let k = 0; k < 4; k++) expect(capLosses[k]).toBeCloseTo(eagerLosses[k]!, 5);
    expect(new Set(capLosses).size).toBe(4);
    for (let i = 0; i < 3; i++) {
      const [a, b] = [await vals(eager.params[i]!), await vals(cap.params[i]!)];
      a.forEach((v, j) => expect(b[j]).toBeCloseTo(v, 5));
    }
    captured.dispose();
  });

  it('gives the parameters their captured gradient tensors back after every replay, even after zeroGrad', async () => {
    const m = model(device);
    m.batch(0);
    const captured = capture(m.step, { grads: m.params, device });
    const grads = m.params.map((p) => p.grad);
    expect(grads.every((g) => g !== null)).toBe(true);
    const before = await vals(grads[0]!);
    m.sgd();
    for (const p of m.params) p.grad = null;
    captured.replay();
    // A handle on the same storage (the one zeroGrad dropped may have been disposed).
    m.params.forEach((p, i) => expect(p.grad!.storage).toBe(grads[i]!.storage));
    expect(await vals(grads[0]!)).not.toEqual(before);
    captured.dispose();
  });

  it('never writes into tensors made after the capture, and returns its memory on dispose', async () => {
    const m = model(device);
    m.batch(0);
    const base = memoryStats()[device]!;
    // Temporaries of the captured step are freed during the capture; tensors made afterwards may not reuse them.
    const captured = capture(m.step, { grads: m.params, device });
    const others = Array.from({ length: 12 }, (_, k) => tensor(new Array(128).fill(k), { device }));
    for (let r = 0; r < 3; r++) captured.replay();
    for (let k = 0; k < others.length; k++) expect(new Set(await vals(others[k]!))).toEqual(new Set([k]));
    others.forEach((t) => t.dispose());
    captured.dispose();
    for (const p of m.params) {
      p.grad?.dispose();
      p.grad = null;
    }
    expect(memoryStats()[device]!.buffers).toBe(base.buffers);
  });

  it('holds back a static output disposed by the user until the capture is disposed', async () => {
    const m = model(device);
    m.batch(0);
    const captured = capture(() => m.step().mul(2), { device });
    captured.outputs.dispose();
    const other = tensor([5, 6, 7], { device });
    expect(() => captured.replay()).toThrow(/capture\.replay.*disposed/);
    expect(await vals(other)).toEqual([5, 6, 7]);
    captured.dispose();
  });

  it('names what a replay could not repeat', () => {
    const x = tensor([1, 2, 3], { device });
    expect(() => capture(() => x.add(randn([3], { device })), { device })).toThrow(/random: not allowed inside capture/);
    expect(() => capture(() => x.requiresGrad_().mul(2), { device })).toThrow(/capture: outputs must not require grad/);
    expect(() => capture(() => capture(() => x.mul(2), { device }).outputs, { device })).toThrow(/captures do not nest/);
    const other = device === 'reference' ? 'cpu' : 'reference';
    expect(() => capture(() => tensor([1], { device: other }).add(1), { device })).toThrow(new RegExp(`captured on '${device}' cannot compute on '${other}'`));
    x.requiresGrad_(false);
    const done = capture(() => x.mul(2), { device });
    done.dispose();
    expect(() => done.replay()).toThrow(/disposed/);
    // A failed capture leaves nothing recording: the next one works.
    const ok = capture(() => x.add(1), { device });
    ok.dispose();
  });

  it('rejects reading a tensor inside the captured function', async () => {
    const x = tensor([1, 2, 3], { device });
    let read: Promise<unknown> | null = null;
    capture(() => {
      read = x.data().catch((e: Error) => e.message);
      return x.mul(1);
    }, { device }).dispose();
    expect(await read).toMatch(/data: not allowed inside capture/);
  });
});

export type { Tensor };
