/** Host side of the optimizer kernels: a fused Adam/AdamW step, one dispatch per parameter. */
import type { AdamStepHyper, FusedKernels, View } from '@tessera/core';
import { gpuOf, type WebGPUBackend } from './backend.js';
import { ADAM } from './kernels/optim.js';
import { numel, Params } from './params.js';
import { Runtime } from './runtime.js';


export function makeOptimKernels(backend: WebGPUBackend): Pick<FusedKernels, 'adamStep'> {
  return {
    adamStep(p: View, grad: View, m: View, v: View, h: AdamStepHyper): void {
      // float32 only (WGSL has no float64; core sends float16 through the composed update).
      const n = numel(p.shape);
      const params = new Params().u(n, p.offset, grad.offset, m.offset, v.offset, h.decoupled ? 1 : 0, h.maximize ? 1 : 0);
      for (const x of [h.beta1, h.beta2, h.eps, h.weightDecay, h.lr, h.stepSize, h.bc2Sqrt]) params.f(x);
      backend.rt.dispatch(ADAM, params, [gpuOf(p), gpuOf(grad), gpuOf(m), gpuOf(v)], Runtime.groupsFor(n));
    },
  };
}
