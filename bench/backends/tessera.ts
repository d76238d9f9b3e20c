/**
 * Tessera contenders: one per registered backend. Backend packages that exist register themselves when imported;
 * list a new one in BACKEND_PACKAGES (and in bench/package.json) and it appears as a column.
 */
import {
  Generator, Tensor, backendByName, listBackends, noGrad, randint, randn, scope, zeros, type CreateOptions,
} from '@tessera/core';
import { timeRunner, type BenchCase, type Contender, type Runner, type SamplePlan } from '../harness.js';

const BACKEND_PACKAGES = ['@tessera/backend-cpu', '@tessera/backend-webgpu'];

/** Imports the optional backend packages; returns a note for each that could not be loaded. */
export async function loadTesseraBackends(): Promise<string[]> {
  const notes: string[] = [];
  for (const pkg of BACKEND_PACKAGES) {
    try {
      await import(pkg);
    } catch (e) {
      notes.push(`${pkg} not loaded (${String((e as Error).message).split('\n')[0]})`);
    }
  }
  return notes;
}

/** Waits until t's values exist by reading one element, so queued (GPU) work is counted without a big copy. */
async function settle(t: Tensor): Promise<void> {
  if (t.numel() > 0) await t.reshape([-1]).narrow(0, 0, 1).data();
}

type Prepare = (p: Record<string, number>, opts: CreateOptions, gen: Generator) => Runner;

/** Builds a runner whose inputs live outside the per-run scope, so each run frees only its own temporaries. */
function runner(inputs: Tensor[], body: () => Tensor): Runner {
  return {
    async run() {
      const out = scope(body);
      await settle(out);
      out.dispose();
    },
    dispose: () => inputs.forEach((t) => t.dispose()),
  };
}

const PREPARE: Record<BenchCase['kind'], Prepare> = {
  matmul: ({ n }, o, generator) => {
    const [a, b] = [randn([n!, n!], { ...o, generator }), randn([n!, n!], { ...o, generator })];
    return runner([a, b], () => a.matmul(b));
  },
  fma: ({ n }, o, generator) => {
    const [a, b, c] = [0, 1, 2].map(() => randn([n!], { ...o, generator })) as [Tensor, Tensor, Tensor];
    return runner([a, b, c], () => a.mul(b).add(c));
  },
  softmax: ({ rows, cols }, o, generator) => {
    const x = randn([rows!, cols!], { ...o, generator });
    return runner([x], () => x.softmax(-1));
  },
  mlpStep: ({ batch, in: nIn, hidden, out: nOut }, o, generator) => {
    const init = (fanIn: number, fanOut: number) =>
      noGrad(() => scope(() => randn([fanIn, fanOut], { ...o, generator }).mul(Math.sqrt(2 / fanIn)))).requiresGrad_();
    const params = [init(nIn!, hidden!), zeros([hidden!], { ...o, requiresGrad: true }), init(hidden!, nOut!), zeros([nOut!], { ...o, requiresGrad: true })];
    const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
    const x = randn([batch!, nIn!], { ...o, generator });
    const y = randint(0, nOut!, [batch!], { ...o, generator });
    return runner([...params, x, y], () => {
      const logits = x.matmul(w1).add(b1).relu().matmul(w2).add(b2);
      const loss = logits.logSoftmax(-1).gather(1, y.unsqueeze(1)).mean().neg();
      loss.backward();
      noGrad(() =>
        params.forEach((p) => {
          p.sub_(p.grad!, 0.01);
          p.grad!.dispose();
          p.grad = null;
        }),
      );
      return loss.detach();
    });
  },
};

export function tesseraContender(device: string): Contender {
  const opts: CreateOptions = { device, dtype: 'float32' };
  return {
    name: device,
    async setup() {
      return listBackends().includes(device) ? null : `backend '${device}' is not registered`;
    },
    async time(c: BenchCase, plan: SamplePlan) {
      if (!backendByName(device).capabilities.dtypes.includes('float32')) return null;
      return timeRunner(PREPARE[c.kind](c.params, opts, new Generator(1)), plan);
    },
    describe: () => `${device}: Tessera's '${device}' backend, in this Node process`,
  };
}
