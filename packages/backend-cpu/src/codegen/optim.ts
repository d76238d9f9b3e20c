/**
 * The fused Adam/AdamW step: one pass over a parameter, its gradient and both moments (four contiguous operands of
 * one float dtype over a 1-d nest), updated in place. The arithmetic is core's composed adamStep_, op for op and in
 * the same order, so each value rounds exactly as the dozen elementwise kernels would round it: f32x4 / f64x2 lanes
 * with a scalar tail, no fused multiply-add.
 *
 * The hyperparameters follow the nest descriptor as f64s (ADAM_CONSTANTS, in that order).
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Local } from '../wasm/func.js';
import type { PlainOp } from '../wasm/opcodes.js';
import { descWords, emitNest, loopBy } from './nest.js';

export interface AdamSpec {
  dtype: 'float32' | 'float64';
  /** AdamW: p shrinks by (1 − lr·weightDecay) first. */
  decoupled: boolean;
  /** Adam with weightDecay ≠ 0: weightDecay·p joins the gradient. */
  l2: boolean;
}

export const ADAM_CONSTANTS = ['shrink', 'sign', 'l2', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'bc2Sqrt', 'eps', 'negStepSize'] as const;
export type AdamConstant = (typeof ADAM_CONSTANTS)[number];

/** Descriptor word where the f64 constants start: after the nest descriptor, rounded up to 8 bytes. */
export const ADAM_CONSTANTS_WORD = (descWords(1, 4) + 1) & ~1;

export function buildAdam(m: KernelModule, spec: AdamSpec): void {
  const f32 = spec.dtype === 'float32';
  const elem = f32 ? 4 : 8;
  emitNest(m, 1, 4, ({ f, q, n }) => {
    const desc = f.params[0]!;
    /** The update loop over vectors (f32x4 / f64x2), then over the scalar tail (f32 / f64). */
    const body = (vector: boolean) => {
      const t = vector ? (f32 ? 'f32x4' : 'f64x2') : f32 ? 'f32' : 'f64';
      const type = vector ? 'v128' : f32 ? 'f32' : 'f64';
      const lanes = vector ? 16 / elem : 1;
      const c = {} as Record<AdamConstant, Local>;
      ADAM_CONSTANTS.forEach((name, i) => {
        const l = f.local(type);
        f.get(desc).mem('f64.load', 4 * ADAM_CONSTANTS_WORD + 8 * i);
        if (f32) f.op('f32.demote_f64');
        if (vector) f.op(f32 ? 'f32x4.splat' : 'f64x2.splat');
        f.set(l);
        c[name] = l;
      });
      const bin = (op: 'add' | 'sub' | 'mul' | 'div', a: Local, b: Local) => {
        const l = f.local(type);
        f.get(a, b).op(`${t}.${op}` as PlainOp).set(l);
        return l;
      };
      const load = vector ? 'v128.load' : f32 ? 'f32.load' : 'f64.load';
      const store = vector ? 'v128.store' : f32 ? 'f32.store' : 'f64.store';
      const [P, G, M, V] = q.map(() => f.local(type)) as [Local, Local, Local, Local];
      loopBy(f, n, lanes, () => {
        for (let k = 0; k < 4; k++) f.get(q[k]!).mem(load).set([P, G, M, V][k]!);
        const p0 = spec.decoupled ? bin('mul', P, c.shrink) : P;
        let d = bin('mul', G, c.sign);
        if (spec.l2) d = bin('add', d, bin('mul', P, c.l2));
        const m1 = bin('add', bin('mul', M, c.beta1), bin('mul', d, c.oneMinusBeta1));
        const v1 = bin('add', bin('mul', V, c.beta2), bin('mul', bin('mul', d, d), c.oneMinusBeta2));
        const sq = f.local(type);
        f.get(v1).op(`${t}.sqrt` as PlainOp).set(sq);
        const denom = bin('add', bin('div', sq, c.bc2Sqrt), c.eps);
        const p1 = bin('add', p0, bin('mul', bin('div', m1, denom), c.negStepSize));
        f.get(q[0]!, p1).mem(store);
        f.get(q[2]!, m1).mem(store);
        f.get(q[3]!, v1).mem(store);
        for (const ptr of q) f.get(ptr).i32(lanes * elem).op('i32.add').set(ptr);
      });
    };
    body(true);
    body(false);
  });
}
