import type { BenchCase } from '../harness.js';

const [ROWS, COLS] = [512, 1024];

/** Row softmax: reported as effective bandwidth, 8 bytes per element (1 read, 1 write). */
export const softmaxCases: BenchCase[] = [
  {
    id: `softmax f32 ${ROWS}x${COLS}`,
    kind: 'softmax',
    params: { rows: ROWS, cols: COLS },
    metric: { unit: 'GB/s', bytes: 8 * ROWS * COLS },
    about: `x.softmax(-1) on a [${ROWS}, ${COLS}] float32 tensor`,
  },
];
