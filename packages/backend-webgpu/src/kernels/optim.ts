/** Optimizer updates: one Adam/AdamW step per dispatch, in place on the parameter and both moments. */
import type { KernelSource } from '../runtime.js';
import { PRELUDE } from './prelude.js';

/**
 * P: n, offsets of p, grad, m, v (elements), decoupled, maximize, then f32 beta1, beta2, eps, weightDecay, lr,
 * stepSize, bc2Sqrt (at 7…13). One thread per element; the arithmetic follows core's composed adamStep_.
 */
export const ADAM: KernelSource = {
  name: 'adam',
  code: `${PRELUDE}
@group(0) @binding(1) var<storage, read_write> Pm: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> M1: array<f32>;
@group(0) @binding(4) var<storage, read_write> M2: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = tid(g, nw);
  if (i >= P[0]) { return; }
  let b1 = pf(7u);
  let b2 = pf(8u);
  let wd = pf(10u);
  let ip = P[1] + i;
  var p = Pm[ip];
  var d = G[P[2] + i];
  if (P[6] == 1u) { d = -d; }
  if (P[5] == 1u) { p = p * (1.0 - pf(11u) * wd); } else { d = d + wd * p; }
  let m = b1 * M1[P[3] + i] + (1.0 - b1) * d;
  let v = b2 * M2[P[4] + i] + (1.0 - b2) * d * d;
  M1[P[3] + i] = m;
  M2[P[4] + i] = v;
  Pm[ip] = p - pf(12u) * (m / (sqrt(v) / pf(13u) + pf(9u)));
}`,
};
