/**
 * Per-dtype loads, stores and conversions. In registers every dtype is a wasm number type: float32 → f32,
 * float64 → f64, int32 and bool → i32 (bool is one byte in memory, 0 or 1). Conversions follow the reference
 * backend's casting rules exactly: float → int32 truncates and wraps modulo 2³² (non-finite → 0), anything → bool
 * is `!= 0` (so NaN → true).
 */
import type { DType } from '@tessera/core';
import type { KernelModule } from '../kernel-cache.js';
import type { Fn } from '../wasm/func.js';

export type Native = 'f32' | 'f64' | 'i32';

export const nativeOf = (d: DType): Native => (d === 'float32' ? 'f32' : d === 'float64' ? 'f64' : 'i32');
/** float16 is stored as float32 words by the backend's half layer (half.ts); kernels never see it. */
export const BYTES: Record<DType, number> = { bool: 1, int32: 4, float16: 4, float32: 4, float64: 8 };

/** address on the stack → value. */
export function load(f: Fn, d: DType, offset = 0): void {
  f.mem(d === 'float32' ? 'f32.load' : d === 'float64' ? 'f64.load' : d === 'int32' ? 'i32.load' : 'i32.load8_u', offset);
}

/** address, value on the stack → stored. */
export function store(f: Fn, d: DType, offset = 0): void {
  f.mem(d === 'float32' ? 'f32.store' : d === 'float64' ? 'f64.store' : d === 'int32' ? 'i32.store' : 'i32.store8', offset);
}

/** f64 → i32 the way JS `Number.isFinite(x) ? Math.trunc(x) | 0 : 0` does it. */
function f64ToI32(m: KernelModule) {
  return m.helper('f64ToI32', ['f64'], ['i32'], (f) => {
    const [x] = f.params as [ReturnType<Fn['local']>];
    const t = f.local('f64');
    // Non-finite (x − x is NaN) → 0.
    f.get(x).get(x).op('f64.sub').f64(0).op('f64.ne').if(() => f.i32(0).ret());
    f.get(x).op('f64.trunc').set(t);
    f.get(t).op('f64.abs').f64(2 ** 31).op('f64.lt').if(() => f.get(t).op('i32.trunc_f64_s').ret());
    // Reduce modulo 2^32 into [0, 2^32) exactly, then reinterpret as signed.
    f.get(t).get(t).f64(2 ** 32).op('f64.div').op('f64.floor').f64(2 ** 32).op('f64.mul').op('f64.sub');
    f.op('i32.trunc_sat_f64_u');
  });
}

/** Converts the value on the stack from register type `from` to dtype `to` (as its register type). */
export function convert(f: Fn, m: KernelModule, from: Native, to: DType): void {
  if (to === 'bool') {
    if (from === 'i32') f.i32(0).op('i32.ne');
    else if (from === 'f32') f.f32(0).op('f32.ne');
    else f.f64(0).op('f64.ne');
    return;
  }
  const target = nativeOf(to);
  if (from === target) return;
  if (target === 'i32') {
    if (from === 'f32') f.op('f64.promote_f32');
    f.call(f64ToI32(m));
  } else if (target === 'f64') f.op(from === 'i32' ? 'f64.convert_i32_s' : 'f64.promote_f32');
  else f.op(from === 'i32' ? 'f32.convert_i32_s' : 'f32.demote_f64');
}
