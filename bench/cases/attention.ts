import type { BenchCase } from '../harness.js';

/** The attention shape of the targets: batch 4, 8 heads, 256 positions, head size 64. */
export const ATTENTION_SHAPE = { B: 4, H: 8, S: 256, D: 64 };

const { B, H, S, D } = ATTENTION_SHAPE;
const shape = `B${B} H${H} S${S} D${D}`;

/** Forward scaled dot-product attention, causal and not, at 1 and 2 threads. */
export const attentionCases: BenchCase[] = [false, true].flatMap((causal) =>
  [1, 2].map(
    (threads): BenchCase => ({
      id: `attention fwd ${causal ? 'causal' : 'full'} · ${threads}t`,
      family: `attention f32 ${shape}`,
      kind: 'attention',
      params: { ...ATTENTION_SHAPE, causal: causal ? 1 : 0 },
      threads,
      metric: { unit: 'ms' },
      about: `softmax(q·kᵀ/√D${causal ? " + causal mask" : ""})·v, q, k, v float32 [${B}, ${H}, ${S}, ${D}]`,
    }),
  ),
);

/** Forward and backward (gradients of q, k and v for a given output gradient), for the WebGPU set. */
export const webgpuAttentionCases: BenchCase[] = [
  {
    id: 'attention fwd+bwd causal',
    family: `webgpu: attention f32 ${shape}`,
    kind: 'attentionTrain',
    params: { ...ATTENTION_SHAPE, causal: 1 },
    threads: 2,
    metric: { unit: 'ms' },
    about: `causal attention forward, then dq, dk, dv for a random output gradient, [${B}, ${H}, ${S}, ${D}]`,
  },
];
