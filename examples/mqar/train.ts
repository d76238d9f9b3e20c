/**
 * Trains one MQAR model and scores it. As in Zoology, a model trains on a mixture of the sequence lengths (the steps
 * cycle through them; every step holds about the same number of tokens, so the same number of queries) and is then
 * tested on held-out sequences of each length separately.
 */
import { Generator, noGrad, scope, tensor, type Tensor } from '@tessera/core';
import { AdamW, clipGradNorm_, crossEntropy, LinearWarmup } from '@tessera/nn';
import { mqarBatch, Rng, vocabSize, type MQARConfig } from './data.js';
import { buildModel, indexTensor, type CacheCost, type ModelShape } from './models.js';

export interface Settings {
  /** Sequence lengths T trained on (cycled) and tested at. */
  seqLens: number[];
  /** Key-value pairs per token: N = T · pairsPerToken (every key is queried once). */
  pairsPerToken: number;
  numKeys: number;
  numValues: number;
  dim: number;
  layers: number;
  heads: number;
  tokenShift: boolean;
  steps: number;
  /** Tokens per training step: batch = tokensPerStep / T. */
  tokensPerStep: number;
  lr: number;
  warmupSteps: number;
  /** Held-out sequences per length. */
  testSequences: number;
  seed: number;
}

export interface LengthResult {
  seqLen: number;
  numPairs: number;
  accuracy: number;
  /** Median wall time of a training step at this length. */
  msPerStep: number;
  /** Decode-time cache of the model (all layers, float32) after seqLen tokens. */
  cacheBytes: number;
}

export interface ModuleResult {
  module: string;
  parameters: number;
  mlpHidden: number;
  cache: CacheCost;
  /** Mean training loss over the last tenth of the steps. */
  finalLoss: number;
  lengths: LengthResult[];
  trainSeconds: number;
}

const BYTES_PER_ELEMENT = 4;

export function taskFor(s: Settings, seqLen: number): MQARConfig {
  const numPairs = Math.max(1, Math.round(seqLen * s.pairsPerToken));
  return { seqLen, numPairs, numQueries: numPairs, numKeys: s.numKeys, numValues: s.numValues };
}

export function shapeFor(s: Settings): ModelShape {
  return { vocabSize: vocabSize(taskFor(s, s.seqLens[0]!)), maxLen: Math.max(...s.seqLens), dim: s.dim, layers: s.layers, heads: s.heads, tokenShift: s.tokenShift };
}

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length === 0 ? NaN : a.length % 2 ? a[a.length >> 1]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};

/** Progress callback: step, its sequence length and loss. */
export type OnStep = (step: number, seqLen: number, loss: number) => void;

export async function trainModule(module: string, s: Settings, onStep?: OnStep): Promise<ModuleResult> {
  const model = buildModel(module, shapeFor(s), { generator: new Generator(s.seed) });
  const optimizer = new AdamW(model.parameters(), { lr: s.lr, betas: [0.9, 0.98], weightDecay: 0.1 });
  // Warmup, then a constant rate: recall is learned in a sudden transition that a decaying rate only delays.
  const scheduler = new LinearWarmup(optimizer, { warmupSteps: Math.max(1, s.warmupSteps) });
  const rng = new Rng(s.seed);
  const stepTimes = new Map<number, number[]>(s.seqLens.map((T) => [T, []]));
  const losses: number[] = [];
  const started = performance.now();
  model.train();
  for (let step = 1; step <= s.steps; step++) {
    const T = s.seqLens[(step - 1) % s.seqLens.length]!;
    const task = taskFor(s, T);
    const B = Math.max(1, Math.round(s.tokensPerStep / T));
    const t0 = performance.now();
    const batch = mqarBatch(task, B, rng);
    const loss = scope(() => {
      const logits = model.forward(tensor(batch.inputs, { dtype: 'int32', shape: [B, T] }), indexTensor(batch.queryIndex));
      const taskLoss = crossEntropy(logits, indexTensor(batch.targets));
      const aux = model.auxLoss();
      optimizer.zeroGrad();
      (aux ? taskLoss.add(aux) : taskLoss).backward();
      clipGradNorm_(model.parameters(), 1.0);
      optimizer.step();
      scheduler.step();
      return taskLoss.detach();
    });
    const value = await loss.item();
    loss.dispose();
    if (!Number.isFinite(value)) throw new Error(`${module}: the loss became ${value} at step ${step}; try a smaller --lr`);
    stepTimes.get(T)!.push(performance.now() - t0);
    losses.push(value);
    onStep?.(step, T, value);
  }
  const trainSeconds = (performance.now() - started) / 1000;
  model.eval();
  const cache = model.cacheCost();
  const lengths = s.seqLens.map((T) => ({
    seqLen: T,
    numPairs: taskFor(s, T).numPairs,
    accuracy: testAccuracy(model, s, T),
    // The first step at each length compiles kernels for its shapes: leave it out when there are others.
    msPerStep: median(stepTimes.get(T)!.slice(stepTimes.get(T)!.length > 1 ? 1 : 0)),
    cacheBytes: (cache.perToken * T + cache.fixed) * BYTES_PER_ELEMENT,
  }));
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
  const result: ModuleResult = {
    module, parameters: model.numParameters(), mlpHidden: model.mlpHidden, cache,
    finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, lengths, trainSeconds,
  };
  for (const p of model.parameters()) p.dispose();
  return result;
}

/** Fraction of query positions whose argmax is the bound value, over `testSequences` held-out sequences. */
function testAccuracy(model: ReturnType<typeof buildModel>, s: Settings, T: number): number {
  // Its own seed per length, apart from the training stream. A test sequence that also occurred in training is
  // vanishingly unlikely: the values alone can be assigned in numValues^N ways (64⁸ ≈ 3·10¹⁴ at T = 64).
  const rng = new Rng((s.seed + 0x8000_0000 + T) >>> 0);
  const task = taskFor(s, T);
  const B = Math.max(1, Math.round(s.tokensPerStep / T));
  let correct = 0;
  let total = 0;
  for (let done = 0; done < s.testSequences; done += B) {
    const n = Math.min(B, s.testSequences - done);
    const batch = mqarBatch(task, n, rng);
    const hits = scope(() =>
      noGrad(() => {
        const logits = model.forward(tensor(batch.inputs, { dtype: 'int32', shape: [n, T] }), indexTensor(batch.queryIndex));
        return logits.argmax(-1).eq(indexTensor(batch.targets)).to('int32').sum() as Tensor;
      }),
    );
    correct += hits.itemSync();
    hits.dispose();
    total += batch.targets.length;
  }
  return correct / total;
}
