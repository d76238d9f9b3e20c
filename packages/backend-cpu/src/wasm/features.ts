/**
 * Runtime feature detection by validating tiny modules: SIMD128 is required; relaxed SIMD (for f32x4.relaxed_madd)
 * is used only where the runtime validates it — Node 20 needs `--experimental-wasm-relaxed-simd`, later versions
 * ship it — and plain mul+add is the fallback. TESSERA_WASM_RELAXED=0 turns relaxed SIMD off.
 */
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

export const hasRelaxedSimd =
  relaxedEnv !== '0' &&
  validates((m) => {
    const f = m.func(['v128', 'v128', 'v128'], ['v128'], 'f');
    f.get(f.params[0]!, f.params[1]!, f.params[2]!).op('f32x4.relaxed_madd');
  });
