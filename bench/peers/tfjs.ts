/**
 * TensorFlow.js: tfjs-backend-wasm (XNNPACK, SIMD), tfjs-backend-cpu (plain JS) and tfjs-backend-webgpu (through
 * the `webgpu` package's Dawn, like Tessera's webgpu backend). tfjs-wasm is single-threaded in Node: its threaded
 * build is disabled there (the library's own WASM_HAS_MULTITHREAD_SUPPORT flag is false under Node, and its
 * Emscripten pthread glue cannot start workers from a Blob URL in Node).
 */
import { normalFloats, type BenchCase, type Runner } from '../harness.js';
import { additiveCausalMask, NOT_IMPLEMENTED, type Peer } from './peer.js';
import { tfjsGptStep } from './tfjs-gpt.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

export type TfjsBackend = 'wasm' | 'cpu' | 'webgpu';

async function loadBackend(tf: Tf, backend: TfjsBackend): Promise<string> {
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else {
    const { useDawn } = await import('./dawn.js');
    await useDawn();
    await import('@tensorflow/tfjs-backend-webgpu');
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialize`);
  await tf.ready();
  return backend === 'wasm' ? `SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, 1 thread` : backend === 'cpu' ? 'plain JS, 1 thread' : 'Dawn via the webgpu package';
}

export async function tfjsPeer(backend: TfjsBackend): Promise<Peer> {
  // The umbrella package: tfjs-core's Node bundle registers no gradients, @tensorflow/tfjs's does. Backends register
  // into tfjs's global engine and kernel registry, which every copy of tfjs-core shares.
  // A bundled bench (scripts/gpu/make-kit.sh) sees the CommonJS package as { default: exports }.
  const mod = (await import('@tensorflow/tfjs')) as unknown as { setBackend?: unknown; default?: Tf };
  const tf: Tf = (mod.setBackend ? mod : mod.default!) as Tf;
  const detail = await loadBackend(tf, backend);
  const input = (shape: number[], seed: number) => tf.tensor(normalFloats(shape.reduce((a, b) => a * b, 1), seed), shape, 'float32');
  /** wasm and cpu kernels run when called; webgpu queues them, so one value is read back to wait for the result. */
  const settle = async (ys: TfTensor[]) => {
    if (backend !== 'webgpu') return;
    for (const y of ys) {
      const one = tf.tidy(() => tf.slice(tf.reshape(y, [-1]), 0, 1));
      await one.data();
      one.dispose();
    }
  };
  const runner = (inputs: TfTensor[], f: () => TfTensor | TfTensor[]): Runner => ({
    async run() {
      const ys = [tf.tidy(f)].flat();
      await settle(ys);
      tf.dispose(ys);
    },
    dispose: () => tf.dispose(inputs),
  });
  const attention = (q: TfTensor, k: TfTensor, v: TfTensor, mask: TfTensor | null, D: number) => {
    let s = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D));
    if (mask) s = tf.add(s, mask);
    return tf.matMul(tf.softmax(s), v);
  };

  return {
    describe: () => `TensorFlow.js ${tf.version_core} (${detail}); attention written out as softmax(q·kᵀ/√D + mask)·v`,
    async prepare(c: BenchCase): Promise<Runner | string> {
      const p = c.params;
      switch (c.kind) {
        case 'matmul': {
          if (backend === 'webgpu' && p.n! > 2048) return 'not run: about 100 s per run at n = 4096 (1.3 GFLOP/s when tried once)';
          const [a, b] = [input([p.n!, p.n!], 1), input([p.n!, p.n!], 2)];
          return runner([a, b], () => tf.matMul(a, b));
        }
        case 'fma': {
          const [a, b, d] = [1, 2, 3].map((s) => input([p.n!], s)) as [TfTensor, TfTensor, TfTensor];
          return runner([a, b, d], () => tf.add(tf.mul(a, b), d));
        }
        case 'attention':
        case 'attentionTrain': {
          const shape = [p.B!, p.H!, p.S!, p.D!];
          const [q, k, v, dy] = [1, 2, 3, 4].map((s) => input(shape, s)) as [TfTensor, TfTensor, TfTensor, TfTensor];
          const mask = p.causal ? tf.tensor(additiveCausalMask(p.S!), [p.S!, p.S!]) : null;
          const inputs = [q, k, v, dy, ...(mask ? [mask] : [])];
          if (c.kind === 'attention') return runner(inputs, () => attention(q, k, v, mask, p.D!));
          const grads = tf.grads((a: TfTensor, b: TfTensor, d: TfTensor) => attention(a, b, d, mask, p.D!));
          return runner(inputs, () => grads([q, k, v], dy));
        }
        case 'gptStep':
          return backend === 'cpu' ? 'not run: one step takes tens of seconds in plain JS' : tfjsGptStep(tf, p, settle);
        default:
          return NOT_IMPLEMENTED;
      }
    },
  };
}
