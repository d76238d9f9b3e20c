/**
 * jax-js on its wasm device. One thread: no Worker exists in Node 20, so jax-js computes on the main thread. Two
 * threads: worker-shim.ts provides a global Worker and reports 2 cores, and jax-js dispatches every kernel to its
 * pool of 2 workers. Arrays are reference-counted and consumed by ops, hence the `.ref` on every reused input.
 */
import { normalFloats, type BenchCase, type Runner } from '../harness.js';
import { jaxGptStep } from './jax-gpt.js';
import { additiveCausalMask, NOT_IMPLEMENTED, type PeerFactory } from './peer.js';
import { installWorkerShim } from './worker-shim.js';

type Jax = typeof import('@jax-js/jax');
type JArray = InstanceType<Jax['Array']>;

export const jaxPeer: PeerFactory = async (threads) => {
  if (threads > 1) installWorkerShim(threads);
  const jax: Jax = await import('@jax-js/jax');
  await jax.init('wasm');
  jax.defaultDevice('wasm');
  const np = jax.numpy;
  const input = (shape: number[], seed: number) => np.array(normalFloats(shape.reduce((a, b) => a * b, 1), seed), { shape });

  /** Runs `f` on the inputs (kept alive with .ref) and waits for the result. */
  const runner = (inputs: JArray[], f: (...xs: JArray[]) => JArray): Runner => ({
    async run() {
      const y = f(...inputs.map((x) => x.ref));
      await y.blockUntilReady();
      y.dispose();
    },
    dispose: () => inputs.forEach((x) => x.dispose()),
  });

  return {
    describe: () =>
      'jax-js 0.1.25, wasm device (1 thread: main thread, as Node 20 has no Worker; 2 threads: a pool of 2 workers ' +
      'through a worker_threads Worker shim); matmul, attention (written out) and the GPT step under jit, a*b+c eager (jax-js evaluates lazily and may fuse it)',
    async prepare(c: BenchCase): Promise<Runner | string> {
      const p = c.params;
      switch (c.kind) {
        case 'matmul':
          return runner([input([p.n!, p.n!], 1), input([p.n!, p.n!], 2)], jax.jit((a: JArray, b: JArray) => np.matmul(a, b)));
        case 'fma':
          return runner([1, 2, 3].map((s) => input([p.n!], s)), (a, b, c) => a!.mul(b!).add(c!));
        case 'attention': {
          // Written out like the other peers (jax-js's nn.dotProductAttention parses einsum strings with iterator
          // helpers that Node 20 lacks).
          const shape = [p.B!, p.H!, p.S!, p.D!];
          const scale = 1 / Math.sqrt(p.D!);
          const inputs = [1, 2, 3].map((s) => input(shape, s));
          if (p.causal) inputs.push(np.array(additiveCausalMask(p.S!), { shape: [p.S!, p.S!] }));
          const f = jax.jit((q: JArray, k: JArray, v: JArray, mask?: JArray) => {
            let s = np.matmul(q, k.transpose([0, 1, 3, 2])).mul(scale);
            if (mask) s = s.add(mask);
            return np.matmul(jax.nn.softmax(s, -1), v);
          });
          return runner(inputs, f);
        }
        case 'gptStep':
          return jaxGptStep(jax, p);
        default:
          return NOT_IMPLEMENTED;
      }
    },
  };
};
