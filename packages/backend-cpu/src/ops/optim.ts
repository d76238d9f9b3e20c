/**
 * The fused Adam/AdamW step: one WASM SIMD pass over the parameter and both moments (split over the pool for large
 * tensors), instead of the dozen elementwise kernels (and their temporaries) the composed update costs.
 */
import type { AdamStepHyper, View } from '@tessera/core';
import { BYTES } from '../codegen/dtypes.js';
import { ADAM_CONSTANTS_WORD, buildAdam } from '../codegen/optim.js';
import { DESC_BASE } from '../heap.js';
import { numel } from '../layout.js';
import { FamilyCache, KernelFamily, type CpuBuffer, type NestOperand, type Runtime } from '../runtime.js';

const families = new FamilyCache(
  (dtype: 'float32' | 'float64', decoupled: boolean, l2: boolean) =>
    new KernelFamily(`adam:${dtype}:${+decoupled}${+l2}`, (m) => buildAdam(m, { dtype, decoupled, l2 })),
);

/**
 * Work per element relative to an add, for the threading decision: the pass is bound by memory traffic (four
 * reads, three writes), not by its dozen flops, and waking a worker costs more than a 64k-element update.
 */
const COST = 3;

export function adamStep(rt: Runtime, p: View, grad: View, m: View, v: View, h: AdamStepHyper): void {
  const n = numel(p.shape);
  const dtype = p.dtype as 'float32' | 'float64';
  const l2 = !h.decoupled && h.weightDecay !== 0;
  // The constants sit after the nest descriptor that rt.nest writes (it leaves those words alone), in
  // ADAM_CONSTANTS order.
  const c = rt.heap.f64;
  let at = DESC_BASE / 8 + ADAM_CONSTANTS_WORD / 2;
  c[at++] = h.decoupled ? 1 - h.lr * h.weightDecay : 1; // shrink
  c[at++] = h.maximize ? -1 : 1; // sign
  c[at++] = h.weightDecay; // l2
  c[at++] = h.beta1;
  c[at++] = 1 - h.beta1;
  c[at++] = h.beta2;
  c[at++] = 1 - h.beta2;
  c[at++] = h.bc2Sqrt;
  c[at++] = h.eps;
  c[at++] = -h.stepSize;
  const e = BYTES[dtype];
  rt.nest([n], [operand(p, e), operand(grad, e), operand(m, e), operand(v, e)], families.get(dtype, h.decoupled, l2), COST);
}

const UNIT = [1];
const operand = (x: View, e: number): NestOperand => ({ addr: (x.buffer as CpuBuffer).ptr + x.offset * e, strides: UNIT, elem: e });
