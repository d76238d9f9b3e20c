/**
 * A very small MQAR configuration (examples/mqar): one AdamW training step of each sequence mixer's model on a batch
 * of multi-query associative recall, at equal parameter budgets. Tessera only (the models are @tessera/attention's).
 */
import { Generator, scope, tensor, type Tensor } from '@tessera/core';
import { AdamW, crossEntropy } from '@tessera/nn';
import { mqarBatch, Rng } from '../../examples/mqar/data.js';
import { buildModel, indexTensor, MIXER_NAMES, type ModelShape } from '../../examples/mqar/models.js';
import type { BenchCase, Runner } from '../harness.js';

/** d 64, 2 layers, 4 heads; 8 sequences of 64 tokens with 8 key-value pairs, 64 keys and 64 values. */
export const MQAR_BENCH = { dim: 64, layers: 2, heads: 4, seqLen: 64, batch: 8, pairs: 8, keys: 64 };

const shape = (): ModelShape => {
  const { dim, layers, heads, seqLen, keys } = MQAR_BENCH;
  return { vocabSize: 1 + 2 * keys, maxLen: seqLen, dim, layers, heads, tokenShift: true };
};

export const mqarCases: BenchCase[] = MIXER_NAMES.map((name, module) => {
  const { dim, layers, seqLen, batch, pairs } = MQAR_BENCH;
  return {
    id: `MQAR train step · ${name}`,
    family: `MQAR training step (d ${dim}, ${layers} layers, B${batch} T${seqLen})`,
    kind: 'mqarStep',
    params: { module },
    threads: 2,
    metric: { unit: 'ms', tokens: batch * seqLen },
    about: `${name} model of examples/mqar: forward, cross-entropy at the ${pairs} query positions of each sequence, backward, AdamW`,
    oursOnly: true,
  };
});

/** The runner of one case: a fixed batch, the model and its optimizer built once. */
export function prepareMqarStep(p: Record<string, number>, device: string): Runner {
  const name = MIXER_NAMES[p.module!]!;
  const { seqLen, batch, pairs, keys } = MQAR_BENCH;
  const model = buildModel(name, shape(), { device, dtype: 'float32', generator: new Generator(1) });
  const params = model.parameters();
  const optimizer = new AdamW(params, { lr: 1e-3 });
  const data = mqarBatch({ seqLen, numPairs: pairs, numQueries: pairs, numKeys: keys, numValues: keys }, batch, new Rng(1));
  const ids = tensor(data.inputs, { dtype: 'int32', shape: [batch, seqLen], device });
  const [where, targets] = [indexTensor(data.queryIndex, device), indexTensor(data.targets, device)];
  return {
    async run() {
      const loss = scope(() => {
        const l = crossEntropy(model.forward(ids, where), targets);
        const aux = model.auxLoss();
        optimizer.zeroGrad();
        (aux ? l.add(aux) : l).backward();
        optimizer.step();
        return l.detach();
      });
      await loss.item();
      loss.dispose();
    },
    dispose() {
      optimizer.zeroGrad();
      [ids, where, targets, ...params].forEach((t: Tensor) => t.dispose());
    },
  };
}
