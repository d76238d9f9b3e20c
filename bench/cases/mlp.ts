import type { BenchCase } from '../harness.js';

const [BATCH, IN, HIDDEN, OUT] = [128, 784, 256, 10];

/** One SGD training step of a 784-256-10 ReLU MLP (forward, cross-entropy, backward, in-place update). */
export const mlpCases: BenchCase[] = [
  {
    id: `MLP step ${IN}-${HIDDEN}-${OUT} b${BATCH}`,
    kind: 'mlpStep',
    params: { batch: BATCH, in: IN, hidden: HIDDEN, out: OUT },
    metric: { unit: 'ms' },
    about: `forward + cross-entropy + backward + SGD update, batch ${BATCH}, float32`,
  },
];
