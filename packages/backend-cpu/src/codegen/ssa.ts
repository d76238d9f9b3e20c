/**
 * A small single-assignment layer over the function builder: each operation stores its result in a fresh local,
 * so math kernels read like straight-line formulas. Constants are hoisted out of loops (see Fn.hoist).
 */
import type { Fn, Local, ValType } from '../wasm/func.js';
import type { PlainOp } from '../wasm/opcodes.js';
import type { KernelModule } from '../kernel-cache.js';

export class Ssa {
  constructor(
    readonly f: Fn,
    readonly m: KernelModule,
  ) {}

  /** Applies an instruction to locals and stores the result in a new local. */
  op(op: PlainOp, ...args: Local[]): Local {
    return this.opT('v128', op, ...args);
  }
  opT(type: ValType, op: PlainOp, ...args: Local[]): Local {
    const out = this.f.local(type);
    this.f.get(...args).op(op).set(out);
    return out;
  }
  /** a where mask bits are set, else b. */
  sel(a: Local, b: Local, mask: Local): Local {
    return this.op('v128.bitselect', a, b, mask);
  }
  /** A hoisted f32x4 splat constant. */
  f32x4(x: number): Local {
    return this.f.hoist(`f32x4:${Object.is(x, -0) ? '-0' : x}`, 'v128', () => this.f.f32x4(x));
  }
  f64x2(x: number): Local {
    return this.f.hoist(`f64x2:${Object.is(x, -0) ? '-0' : x}`, 'v128', () => this.f.f64x2(x));
  }
  i32x4(x: number): Local {
    return this.f.hoist(`i32x4:${x | 0}`, 'v128', () => this.f.i32x4(x));
  }
  /** Horner evaluation c0 + t(c1 + t(c2 + …)) in f32x4. */
  hornerF32(t: Local, coefs: readonly number[]): Local {
    let acc = this.f32x4(coefs[coefs.length - 1]!);
    for (let i = coefs.length - 2; i >= 0; i--) acc = this.op('f32x4.add', this.op('f32x4.mul', acc, t), this.f32x4(coefs[i]!));
    return acc;
  }
  /** Fused or plain a·b + c, by whether relaxed SIMD is in use. */
  maddF32(a: Local, b: Local, c: Local, relaxed: boolean): Local {
    return relaxed ? this.op('f32x4.relaxed_madd', a, b, c) : this.op('f32x4.add', this.op('f32x4.mul', a, b), c);
  }
}
