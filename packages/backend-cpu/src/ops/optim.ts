/**
 * A fused Adam/AdamW step on the heap: one pass over the parameter and both moments, instead of the dozen
 * elementwise kernels (and their temporaries) the composed update costs. Plain JS over the WASM memory: the pass
 * is bandwidth-light next to the training step, and its per-call overhead is one loop, not a dozen launches.
 */
import type { AdamStepHyper, View } from '@tessera/core';
import { BYTES } from '../codegen/dtypes.js';
import { heapArray } from '../memory-io.js';
import type { CpuBuffer, Runtime } from '../runtime.js';

export function adamStep(rt: Runtime, p: View, grad: View, m: View, v: View, h: AdamStepHyper): void {
  const n = p.shape.reduce((a, b) => a * b, 1);
  const dtype = p.dtype as 'float32' | 'float64';
  const at = (x: View) => heapArray(rt, dtype, (x.buffer as CpuBuffer).ptr + x.offset * BYTES[dtype], n) as Float32Array | Float64Array;
  const [P, G, M, V] = [at(p), at(grad), at(m), at(v)];
  const { beta1: b1, beta2: b2, eps, weightDecay: wd, stepSize, bc2Sqrt } = h;
  const sign = h.maximize ? -1 : 1;
  const shrink = h.decoupled ? 1 - h.lr * wd : 1;
  const l2 = h.decoupled ? 0 : wd;
  for (let i = 0; i < n; i++) {
    const p0 = P[i]! * shrink;
    const d = sign * G[i]! + l2 * P[i]!;
    const mi = b1 * M[i]! + (1 - b1) * d;
    const vi = b2 * V[i]! + (1 - b2) * d * d;
    M[i] = mi;
    V[i] = vi;
    P[i] = p0 - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
  }
}
