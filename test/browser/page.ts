/**
 * The page the browser check opens: registers the 'webgpu' backend on navigator.gpu, trains a tiny MLP on XOR with
 * softmax cross-entropy and SGD, and publishes the losses (or the error) on window.__tessera for the test to read.
 */
import { Generator, noGrad, randn, scope, setBackend, tensor, type Tensor } from '@tessera/core';
import { initWebGPU } from '@tessera/backend-webgpu';

interface Outcome {
  adapter: string;
  losses: number[];
  error?: string;
}

async function run(): Promise<Outcome> {
  const backend = await initWebGPU({ makeDefault: true });
  setBackend(backend.name);
  const g = new Generator(3);
  const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const y = tensor([[0], [1], [1], [0]], { dtype: 'int32' });
  const init = (shape: number[], s: number) => noGrad(() => randn(shape, { generator: g }).mul(s)).requiresGrad_();
  const params: Tensor[] = [init([2, 8], 1), init([8], 0.1), init([8, 2], 0.5), init([2], 0.1)];
  const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
  const losses: number[] = [];
  for (let step = 0; step < 120; step++) {
    const loss = scope(() => {
      const l = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).logSoftmax(-1).gather(1, y).mean().neg();
      l.backward();
      noGrad(() => {
        for (const p of params) {
          p.sub_(p.grad!.mul(0.5));
          p.grad!.zero_();
        }
      });
      return l.detach();
    });
    if (step % 20 === 0 || step === 119) losses.push(await loss.item());
    loss.dispose();
  }
  return { adapter: backend.device.adapterInfo?.architecture ?? 'unknown', losses };
}

const w = globalThis as { __tessera?: Outcome };
run().then(
  (r) => (w.__tessera = r),
  (e: unknown) => (w.__tessera = { adapter: '', losses: [], error: String((e as Error)?.stack ?? e) }),
);
