/**
 * Counter-based random numbers, bit-identical to core's random.ts: element j uses the words
 * hash32(hash32(c) ^ key) and hash32(hash32(c + 1) ^ key) with c = start + 2j (mod 2³²). Uniform float32 — the
 * dropout path — runs four elements per f32x4/i32x4 step; other kinds go through f64 exactly as the reference
 * writes them (normal calls the host's Math.log/Math.cos so the values match to the last bit), then cast.
 *
 * Descriptor (i32 words): out address, key, start.
 */
import type { DType, RandomKind } from '@tessera/core';
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import { BYTES, convert, store } from './dtypes.js';
import { loopBy } from './nest.js';
import { Ssa } from './ssa.js';

const M1 = 0x7feb352d;
const M2 = 0x846ca68b | 0;

/** lowbias32 on the i32 on the stack. */
function hash(f: Fn, t: Local): void {
  f.set(t);
  f.get(t).get(t).i32(16).op('i32.shr_u', 'i32.xor').i32(M1).op('i32.mul').set(t);
  f.get(t).get(t).i32(15).op('i32.shr_u', 'i32.xor').i32(M2).op('i32.mul').set(t);
  f.get(t).get(t).i32(16).op('i32.shr_u', 'i32.xor');
}

function hashVec(v: Ssa, x: Local): Local {
  const shr = (a: Local, k: number) => v.op('i32x4.shr_u', a, v.f.hoist(`i32:${k}`, 'i32', () => v.f.i32(k)));
  let t = v.op('v128.xor', x, shr(x, 16));
  t = v.op('i32x4.mul', t, v.i32x4(M1));
  t = v.op('v128.xor', t, shr(t, 15));
  t = v.op('i32x4.mul', t, v.i32x4(M2));
  return v.op('v128.xor', t, shr(t, 16));
}

export const randomKey = (kind: RandomKind, dtype: DType) => `random:${kind}:${dtype}`;

export function buildRandom(m: KernelModule, kind: RandomKind, dtype: DType): void {
  const f = m.func(['i32', 'i32', 'i32', 'i32'], [], 'run');
  const [desc, lo, hi] = f.params as [Local, Local, Local, Local];
  const [p, key, c, n, t] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const [w0, w1] = [f.local('i32'), f.local('i32')];
  f.get(desc).mem('i32.load').get(lo).i32(BYTES[dtype]).op('i32.mul', 'i32.add').set(p);
  f.get(desc).mem('i32.load', 4).set(key);
  // c = start + 2·lo
  f.get(desc).mem('i32.load', 8).get(lo, lo).op('i32.add', 'i32.add').set(c);
  f.get(hi, lo).op('i32.sub').set(n);
  f.beginHoisting();
  if (kind === 'uniform' && dtype === 'float32') {
    const v = new Ssa(f, m);
    const keyV = v.opT('v128', 'i32x4.splat', key);
    const lanes = v.f.hoist('lanes0246', 'v128', () => f.v128(new Uint8Array(new Int32Array([0, 2, 4, 6]).buffer)));
    loopBy(f, n, 4, () => {
      const cv = v.op('i32x4.add', v.opT('v128', 'i32x4.splat', c), lanes);
      const w = hashVec(v, v.op('v128.xor', hashVec(v, cv), keyV));
      const bits = v.op('i32x4.shr_u', w, f.hoist('i32:8', 'i32', () => f.i32(8)));
      const u = v.op('f32x4.mul', v.op('f32x4.convert_i32x4_s', bits), v.f32x4(2 ** -24));
      f.get(p, u).mem('v128.store');
      f.get(p).i32(16).op('i32.add').set(p);
      f.get(c).i32(8).op('i32.add').set(c);
    });
  }
  loopBy(f, n, 1, () => {
    f.get(c);
    hash(f, t);
    f.get(key).op('i32.xor');
    hash(f, t);
    f.set(w0);
    f.get(c).i32(1).op('i32.add');
    hash(f, t);
    f.get(key).op('i32.xor');
    hash(f, t);
    f.set(w1);
    f.get(p);
    if (kind === 'uniform' && dtype === 'float64') {
      f.get(w0).i32(5).op('i32.shr_u', 'f64.convert_i32_u').f64(2 ** 26).op('f64.mul');
      f.get(w1).i32(6).op('i32.shr_u', 'f64.convert_i32_u').op('f64.add').f64(2 ** -53).op('f64.mul');
    } else if (kind === 'uniform') {
      f.get(w0).i32(8).op('i32.shr_u', 'f64.convert_i32_u').f64(2 ** -24).op('f64.mul');
    } else {
      // sqrt(−2·log(u1))·cos(2π·u2), u1 = (w0 + 1)/2³², u2 = w1/2³²
      f.f64(-2).get(w0).op('f64.convert_i32_u').f64(1).op('f64.add').f64(4294967296).op('f64.div').call(m.host('log')).op('f64.mul', 'f64.sqrt');
      f.f64(2 * Math.PI).get(w1).op('f64.convert_i32_u').f64(4294967296).op('f64.div', 'f64.mul').call(m.host('cos')).op('f64.mul');
    }
    convert(f, m, 'f64', dtype);
    store(f, dtype);
    f.get(p).i32(BYTES[dtype]).op('i32.add').set(p);
    f.get(c).i32(2).op('i32.add').set(c);
  });
}
