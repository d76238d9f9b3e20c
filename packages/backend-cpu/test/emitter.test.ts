import { describe, expect, it } from 'vitest';
import { hasRelaxedSimd, hasSimd } from '../src/wasm/features.js';
import { wasm } from '../src/wasm/api.js';
import { ModuleBuilder } from '../src/wasm/module.js';
import { sleb, uleb } from '../src/wasm/opcodes.js';

type Exports = Record<string, (...args: number[]) => number>;

function instantiate(m: ModuleBuilder, imports: Record<string, Record<string, unknown>> = {}): Exports {
  const bytes = m.bytes();
  expect(wasm.validate(bytes)).toBe(true);
  return new wasm.Instance(new wasm.Module(bytes), imports).exports as Exports;
}

describe('wasm emitter', () => {
  it('encodes LEB128 like the spec examples', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(-2147483648)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    expect(() => uleb(-1)).toThrow();
  });

  it('serializes a one-function module byte for byte', () => {
    const m = new ModuleBuilder();
    const f = m.func(['i32'], ['i32'], 'f');
    f.get(f.params[0]!).i32(2).op('i32.mul');
    // (module (func (export "f") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))
    expect(Array.from(m.bytes())).toEqual([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01,
      0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x41, 0x02, 0x6c, 0x0b,
    ]);
    expect(instantiate(m).f!(21)).toBe(42);
  });

  it('computes branch depths from labels in nested blocks and loops', () => {
    const m = new ModuleBuilder();
    const f = m.func(['i32'], ['i32'], 'sumOdd');
    const [n] = f.params as [ReturnType<typeof f.local>];
    const [i, acc] = [f.local('i32'), f.local('i32')];
    f.block((exit) =>
      f.loop((next) => {
        f.get(i, n).op('i32.ge_s').brIf(exit);
        f.block((skip) => {
          f.get(i).i32(1).op('i32.and', 'i32.eqz').brIf(skip);
          f.get(acc, i).op('i32.add').set(acc);
        });
        f.get(i).i32(1).op('i32.add').set(i);
        f.br(next);
      }),
    );
    f.get(acc);
    expect(instantiate(m).sumOdd!(10)).toBe(1 + 3 + 5 + 7 + 9);
  });

  it('if/else with a result, f64 constants and locals of several types', () => {
    const m = new ModuleBuilder();
    const f = m.func(['f64'], ['f64'], 'absish');
    const x = f.params[0]!;
    f.get(x).f64(0).op('f64.lt').if(() => f.get(x).op('f64.neg'), () => f.get(x).f64(0.5).op('f64.add'), 'f64');
    const e = instantiate(m);
    expect(e.absish!(-3)).toBe(3);
    expect(e.absish!(2)).toBe(2.5);
  });

  it('imports a shared memory and host functions; memory.fill and memory.copy work', () => {
    const memory = new wasm.Memory({ initial: 1, maximum: 2, shared: true });
    const m = new ModuleBuilder();
    m.importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 2, shared: true });
    const twice = m.importFunc('host', 'twice', ['f64'], ['f64']);
    const f = m.func(['i32', 'f64'], ['f64'], 'run');
    const [p, x] = f.params as [ReturnType<typeof f.local>, ReturnType<typeof f.local>];
    f.get(p).i32(7).i32(16).memoryFill();
    f.get(p).i32(16).op('i32.add').get(p).i32(16).memoryCopy();
    f.get(p).get(x).call(twice).mem('f64.store', 32);
    f.get(p).mem('f64.load', 32);
    const e = instantiate(m, { env: { memory }, host: { twice: (v: number) => 2 * v } });
    expect(e.run!(64, 1.25)).toBe(2.5);
    const u8 = new Uint8Array(memory.buffer);
    expect(Array.from(u8.subarray(64, 96))).toEqual(new Array(32).fill(7));
  });

  it('emits SIMD: arithmetic, splats, lane access, shuffles and bitselect', () => {
    expect(hasSimd).toBe(true);
    const m = new ModuleBuilder();
    const f = m.func(['f32', 'f32'], ['f32'], 'run');
    const [a, b] = f.params as [ReturnType<typeof f.local>, ReturnType<typeof f.local>];
    const [va, vb, t] = [f.local('v128'), f.local('v128'), f.local('v128')];
    f.get(a).op('f32x4.splat').set(va);
    f.get(va).f32(10).lane('f32x4.replace_lane', 2).set(va); // [a, a, 10, a]
    f.get(b).op('f32x4.splat').set(vb);
    f.get(va, vb).op('f32x4.mul').set(t); // [ab, ab, 10b, ab]
    f.get(t, t).shuffle([8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]).set(t); // [10b, ab, ab, ab]
    f.f32x4(-1).get(t, t).f32x4(20).op('f32x4.lt').op('v128.bitselect').set(t); // lanes < 20 → −1
    f.get(t).lane('f32x4.extract_lane', 0).get(t).lane('f32x4.extract_lane', 1).op('f32.add');
    // a = 1, b = 3: [30, 3, 3, 3] → [30, −1, −1, −1] → 29
    expect(instantiate(m).run!(1, 3)).toBe(29);
  });

  it('hoists constants to the marked position, once per key', () => {
    const m = new ModuleBuilder();
    const f = m.func(['i32'], ['i32'], 'run');
    const [n] = f.params as [ReturnType<typeof f.local>];
    const acc = f.local('i32');
    f.beginHoisting();
    f.block((exit) =>
      f.loop((next) => {
        f.get(n).op('i32.eqz').brIf(exit);
        const k = f.hoist('k', 'i32', () => f.i32(5));
        expect(f.hoist('k', 'i32', () => f.i32(99))).toBe(k);
        f.get(acc, k).op('i32.add').set(acc);
        f.get(n).i32(1).op('i32.sub').set(n);
        f.br(next);
      }),
    );
    f.get(acc);
    expect(instantiate(m).run!(4)).toBe(20);
  });

  it('relaxed SIMD is used only where the runtime validates it', () => {
    const m = new ModuleBuilder();
    const f = m.func(['v128', 'v128', 'v128'], ['v128'], 'f');
    f.get(f.params[0]!, f.params[1]!, f.params[2]!).op('f32x4.relaxed_madd');
    expect(wasm.validate(m.bytes())).toBe(hasRelaxedSimd);
  });

  it('rejects branches to labels that are out of scope', () => {
    const m = new ModuleBuilder();
    const f = m.func([], [], 'f');
    let outer: Parameters<Parameters<typeof f.block>[0]>[0] | undefined;
    f.block((l) => (outer = l));
    expect(() => f.br(outer!)).toThrow(/not in scope/);
  });
});
