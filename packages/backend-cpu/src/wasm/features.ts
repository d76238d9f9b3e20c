/**
 * Runtime feature detection by validating tiny modules: SIMD128 is required; relaxed SIMD (for f32x4.relaxed_madd)
 * is used only where the runtime validates it, and plain mul+add is the fallback. Node 22+ ships relaxed SIMD;
 * Node 20 and 21 implement it behind `--experimental-wasm-relaxed-simd`, which is switched on here (before any
 * kernel is compiled; V8 flags are process-wide, so worker threads see it too). TESSERA_WASM_RELAXED=0 turns
 * relaxed SIMD off.
 */
import { setFlagsFromString } from 'node:v8';
import { wasm } from './api.js';
import { ModuleBuilder } from './module.js';

function validates(build: (m: ModuleBuilder) => void): boolean {
  try {
    const m = new ModuleBuilder();
    build(m);
    return wasm.validate(m.bytes());
  } catch {
    return false;
  }
}

export const hasSimd = validates((m) => {
  const f = m.func(['v128', 'v128'], ['v128'], 'f');
  f.get(f.params[0]!, f.params[1]!).op('f32x4.add');
});

const relaxedEnv = typeof process !== 'undefined' ? process.env.TESSERA_WASM_RELAXED : undefined;

const relaxedValidates = () =>
  validates((m) => {
    const f = m.func(['v128', 'v128', 'v128'], ['v128'], 'f');
    f.get(f.params[0]!, f.params[1]!, f.params[2]!).op('f32x4.relaxed_madd');
  });

function enableRelaxedSimd(): boolean {
  if (relaxedEnv === '0') return false;
  if (relaxedValidates()) return true;
  const major = Number(process.versions?.node?.split('.')[0]);
  if (!(major >= 20 && major < 22)) return false;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return relaxedValidates();
}

export const hasRelaxedSimd = enableRelaxedSimd();
