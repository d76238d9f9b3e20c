/**
 * Tessera contenders, in this process: the 'cpu' backend (threads set per case with setNumThreads), the reference
 * backend (small matmuls only: it is the correctness oracle, not a fast path) and the 'webgpu' backend.
 */
import { capture, grad, scope, tensor, type Tensor } from '@tessera/core';
import { scaledDotProductAttention } from '@tessera/attention';
import { normalFloats, planFor, timeRunner, type BenchCase, type Contender, type Outcome, type Runner, type SamplePlan } from '../harness.js';
import { tinyGptParameterCount } from '../cases/gpt.js';
import { prepareMqarStep } from '../cases/mqar.js';
import { settle, tinyGptTraining } from '../models/tiny-gpt-training.js';

/** A runner whose inputs live outside the per-run scope, so each run frees only its own temporaries. */
function runner(inputs: Tensor[], body: () => Tensor | Tensor[]): Runner {
  return {
    async run() {
      const outs = scope(body);
      for (const t of [outs].flat()) await settle(t);
      for (const t of [outs].flat()) t.dispose();
    },
    dispose: () => inputs.forEach((t) => t.dispose()),
  };
}

type Prepare = (p: Record<string, number>, device: string) => Runner;

const input = (shape: number[], seed: number, device: string, requiresGrad = false) =>
  tensor(normalFloats(shape.reduce((a, b) => a * b, 1), seed), { shape, device, dtype: 'float32', requiresGrad });

const PREPARE: Record<BenchCase['kind'], Prepare> = {
  mqarStep: prepareMqarStep,
  matmul: ({ n }, device) => {
    const [a, b] = [input([n!, n!], 1, device), input([n!, n!], 2, device)];
    return runner([a, b], () => a.matmul(b));
  },
  fma: ({ n }, device) => {
    const [a, b, c] = [1, 2, 3].map((s) => input([n!], s, device)) as [Tensor, Tensor, Tensor];
    return runner([a, b, c], () => a.mul(b).add(c));
  },
  attention: ({ B, H, S, D, causal }, device) => {
    const [q, k, v] = [1, 2, 3].map((s) => input([B!, H!, S!, D!], s, device)) as [Tensor, Tensor, Tensor];
    return runner([q, k, v], () => scaledDotProductAttention(q, k, v, { isCausal: causal === 1 }));
  },
  attentionTrain: ({ B, H, S, D, causal }, device) => {
    const [q, k, v] = [1, 2, 3].map((s) => input([B!, H!, S!, D!], s, device, true)) as [Tensor, Tensor, Tensor];
    const dOut = input([B!, H!, S!, D!], 4, device);
    return runner([q, k, v, dOut], () => {
      const out = scaledDotProductAttention(q, k, v, { isCausal: causal === 1 });
      return grad(out, [q, k, v], { gradOutputs: dOut }) as Tensor[];
    });
  },
  gptStep: (p, device) => {
    const { model, params, optimizer, x, y, loss: lossOf } = tinyGptTraining(device);
    const count = model.numParameters();
    if (count !== tinyGptParameterCount()) throw new Error(`tiny GPT has ${count} parameters, expected ${tinyGptParameterCount()}`);
    if (p.captured) {
      // Forward, loss and backward recorded once and replayed; Adam's per-step scalars keep it outside.
      const step = capture(() => {
        const l = lossOf();
        l.backward();
        return l.detach();
      }, { grads: params, device });
      optimizer.step();
      return {
        async run() {
          const loss = step.replay();
          optimizer.step();
          await settle(loss);
          await settle(params.at(-1)!);
        },
        dispose() {
          step.dispose();
          optimizer.zeroGrad();
          [x, y, ...params].forEach((t) => t.dispose());
        },
      };
    }
    return {
      async run() {
        const loss = scope(() => {
          const l = lossOf();
          optimizer.zeroGrad();
          l.backward();
          optimizer.step();
          return l.detach();
        });
        // The loss, and one value of the last parameter Adam wrote, so a queued (GPU) update is counted too.
        await settle(loss);
        await settle(params.at(-1)!);
        loss.dispose();
      },
      dispose() {
        // Adam's moments stay allocated until the process ends (the optimizer has no dispose).
        optimizer.zeroGrad();
        [x, y, ...params].forEach((t) => t.dispose());
      },
    };
  },
};

export interface TesseraOptions {
  /** Column name (default: the backend name). */
  label?: string;
  /** Sets the backend's thread count before each case (the cpu backend's setNumThreads). */
  setThreads?: (n: number) => void;
  /** Runs on one thread whatever the case asks (marked in the tables). */
  singleThreaded?: boolean;
  /** Why a case is skipped, or null to run it. */
  skip?: (c: BenchCase) => string | null;
  about: string;
}

export function tesseraContender(device: string, available: () => string | null, opts: TesseraOptions): Contender {
  return {
    name: opts.label ?? device,
    ours: true,
    async setup() {
      return available();
    },
    async time(c: BenchCase, plan: SamplePlan): Promise<Outcome> {
      const why = opts.skip?.(c);
      if (why) return { skip: why };
      opts.setThreads?.(c.threads);
      return { samples: await timeRunner(PREPARE[c.kind](c.params, device), planFor(c, plan)), ...(opts.singleThreaded && { threadsUsed: 1 }) };
    },
    describe: () => `${opts.label ?? device}: ${opts.about}`,
  };
}
