/**
 * Hostile safetensors input: targeted malformed files each get their typed error, and hundreds of seeded random
 * mutations of valid files produce either a valid load or a SafetensorsError — never another exception, a hang or
 * an allocation beyond the file's size.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { tensor } from '@tessera/core';
import {
  loadSafetensors, loadSafetensorsFromBytes, readSafetensorsHeader, SafetensorsError, saveSafetensorsToBytes, type SafetensorsErrorCode,
} from '../src/index.js';
import { FIXTURE_DIR } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A file from a header string and data bytes; n overrides the header length field. */
function build(header: string, data: Uint8Array | number[] = [], n?: number): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const f32 = (dtype: string, shape: unknown, offsets: unknown) => JSON.stringify({ t: { dtype, shape, data_offsets: offsets } });

function expectCode(bytes: Uint8Array, code: SafetensorsErrorCode, message?: RegExp): void {
  try {
    loadSafetensorsFromBytes(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).code).toBe(code);
    if (message) expect((e as Error).message).toMatch(message);
    return;
  }
  expect.fail(`expected a SafetensorsError with code ${code}`);
}

describe('malformed files are rejected with typed errors', () => {
  const eight = new Uint8Array(8);
  it.each<[string, Uint8Array, SafetensorsErrorCode, RegExp?]>([
    ['shorter than the length field', new Uint8Array(5), 'truncated', /too short/],
    ['header length past the end', build('{}', [], 100), 'truncated', /runs past the end/],
    ['enormous header length', build('{}', [], 2 ** 62), 'header-too-large', /exceeds the limit/],
    ['header too small', build('', [], 0), 'invalid-header'],
    ['invalid UTF-8', (() => { const b = build('{"a"}'); b[9] = 0xff; return b; })(), 'invalid-header', /UTF-8/],
    ['not JSON', build('{abc'), 'invalid-header', /not valid JSON/],
    ['not an object', build('[1, 2]'), 'invalid-header', /starting with/],
    ['metadata not strings', build('{"__metadata__":{"a":1}}'), 'invalid-metadata'],
    ['metadata not an object', build('{"__metadata__":[]}'), 'invalid-metadata'],
    ['entry not an object', build('{"t":3}'), 'invalid-entry'],
    ['unknown dtype', build(f32('F8_E4M3', [1], [0, 1]), [0]), 'unsupported-dtype', /unsupported dtype 'F8_E4M3'/],
    ['non-string dtype', build(f32(7 as never, [1], [0, 1]), [0]), 'invalid-entry'],
    ['negative dim', build(f32('F32', [-1], [0, 4]), eight.subarray(0, 4)), 'invalid-entry'],
    ['fractional dim', build(f32('F32', [1.5], [0, 4]), eight.subarray(0, 4)), 'invalid-entry'],
    ['shape/bytes mismatch', build(f32('F32', [3], [0, 8]), eight), 'shape-mismatch', /needs 12 bytes/],
    ['element count overflow', build(f32('F64', [2 ** 30, 2 ** 30, 2 ** 30], [0, 8]), eight), 'shape-mismatch'],
    ['offsets reversed', build(f32('F32', [0], [8, 4]), eight), 'invalid-offsets', /end before they begin/],
    ['offsets not a pair', build(f32('F32', [1], [0, 4, 8]), eight), 'invalid-offsets'],
    ['offsets out of range', build(f32('F32', [2], [0, 8]), eight.subarray(0, 4)), 'truncated'],
    ['gap before a tensor', build(f32('F32', [1], [4, 8]), eight), 'invalid-offsets', /leave a gap/],
    ['trailing bytes', build(f32('F32', [1], [0, 4]), eight), 'invalid-offsets', /cover 4 bytes/],
    ['overlapping tensors', build(JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), eight), 'invalid-offsets', /overlap/],
    ['extra field', build(JSON.stringify({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4], x: 1 } }), eight.subarray(0, 4)), 'invalid-entry'],
    ['I64 out of int32 range', build(f32('I64', [1], [0, 8]), [0, 0, 0, 0, 1, 0, 0, 0]), 'lossy-conversion', /does not fit int32/],
  ])('%s', (_name, bytes, code, message) => expectCode(bytes, code, message));

  it('accepts entries listed out of offset order, and empty tensors', async () => {
    const header = JSON.stringify({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, e: { dtype: 'F64', shape: [0], data_offsets: [0, 0] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const { tensors } = loadSafetensorsFromBytes(build(header, new Uint8Array(new Float32Array([1, 2]).buffer)));
    expect([await tensors.a!.item(), await tensors.b!.item(), tensors.e!.shape]).toEqual([1, 2, [0]]);
  });

  it('rejects a huge declared header from disk before allocating, and honours maxHeaderBytes', async () => {
    const path = join(tmp, 'huge.safetensors');
    writeFileSync(path, build('{}', [], 99_999_999));
    await expect(loadSafetensors(path)).rejects.toMatchObject({ code: 'truncated' });
    writeFileSync(path, build('{}', [], 2 ** 53));
    await expect(loadSafetensors(path)).rejects.toMatchObject({ code: 'header-too-large' });
    writeFileSync(path, build('{"__metadata__":{"k":"v"}}'));
    await expect(readSafetensorsHeader(path, { maxHeaderBytes: 8 })).rejects.toMatchObject({ code: 'header-too-large' });
    expect((await readSafetensorsHeader(path)).metadata).toEqual({ k: 'v' });
  });
});

/** Deterministic PRNG (mulberry32) so any failure reproduces from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

const WEIRD_VALUES: unknown[] = [null, -1, 0, 1, 1.5, 2 ** 31, 2 ** 53, 1e300, 'F32', 'I64', 'BF16', 'X', [], [1], [0, 0], [-4, 4], {}, true];

/** One random corruption of a valid file. */
function mutate(file: Uint8Array, r: ReturnType<typeof prng>): Uint8Array {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(file.subarray(8, 8 + n));
  const data = file.subarray(8 + n);
  switch (r.int(7)) {
    case 0: // truncate anywhere
      return file.slice(0, r.int(file.length));
    case 1: { // overwrite a few random bytes
      const out = file.slice();
      for (let k = 0, m = 1 + r.int(4); k < m; k++) out[r.int(out.length)] = r.int(256);
      return out;
    }
    case 2: { // a bogus header length
      const out = file.slice();
      const v = r.pick([0, 1, 7, n - 1, n + 1, n + 8, file.length, 2 ** 32 + n, 2 ** 53, 2 ** 63]);
      new DataView(out.buffer).setBigUint64(0, BigInt(v), true);
      return out;
    }
    case 3: { // a structural edit of one header entry
      const json = JSON.parse(headerText) as Record<string, Record<string, unknown>>;
      const names = Object.keys(json);
      const name = r.pick(names);
      const entry = json[name]!;
      const field = r.pick(['dtype', 'shape', 'data_offsets', 'extra', name === '__metadata__' ? 'k' : 'dtype']);
      if (r.next() < 0.2) delete entry[field];
      else if (field === 'data_offsets' && Array.isArray(entry.data_offsets)) {
        const off = [...(entry.data_offsets as number[])];
        off[r.int(2)]! += r.pick([-8, -4, -1, 1, 2, 4, 8, 2 ** 40]);
        entry.data_offsets = off;
      } else if (field === 'shape' && Array.isArray(entry.shape)) entry.shape = [...(entry.shape as number[]), r.pick([0, 1, 2, -1, 2 ** 31])];
      else entry[field] = r.pick(WEIRD_VALUES);
      return build(JSON.stringify(json), data);
    }
    case 4: { // a textual edit of the header, keeping the length consistent
      const i = r.int(headerText.length);
      const edit = r.pick(['', '"', '{', '}', ',', ':', '[', ']', '\u00e9', '\\', '0', '-', ' ']);
      return build(headerText.slice(0, i) + edit + headerText.slice(i + 1), data);
    }
    case 5: // data grows or shrinks
      return r.next() < 0.5 ? build(headerText, [...data, ...Array.from({ length: 1 + r.int(9) }, () => r.int(256))]) : build(headerText, data.slice(0, Math.max(0, data.length - 1 - r.int(8))));
    default: // pure garbage
      return Uint8Array.from({ length: r.int(64) }, () => r.int(256));
  }
}

/** Loads bytes; returns 'ok' or the error code, failing the test on any non-typed exception. */
function attempt(bytes: Uint8Array, label: string): string {
  try {
    const { tensors } = loadSafetensorsFromBytes(bytes);
    for (const t of Object.values(tensors)) expect(t.dataSync().length, label).toBe(t.size);
    return 'ok';
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw new Error(`${label}: non-typed error ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    return e.code;
  }
}

describe('fuzzing the loader', () => {
  it('600 seeded mutations of valid files give only valid loads or SafetensorsErrors', async () => {
    const seeds = [
      await saveSafetensorsToBytes(
        { w: tensor([[1, 2], [3, 4]]), b: tensor([0.5], { dtype: 'float64' }), i: tensor([7, -7], { dtype: 'int32' }), m: tensor([true, false]) },
        { framework: 'tessera', step: '12' },
      ),
      new Uint8Array(readFileSync(FIXTURE_DIR + 'torch_written.safetensors')),
    ];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const r = prng(1000 + i);
      const bytes = mutate(seeds[i % seeds.length]!, r);
      const code = attempt(bytes, `mutation seed ${1000 + i}`);
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    }
    // The mutations must reach many different checks, not just one.
    expect(outcomes.size).toBeGreaterThanOrEqual(7);
    expect(600 - (outcomes.get('ok') ?? 0)).toBeGreaterThan(400);
  });

  it('mutated files on disk are rejected by the async loader with typed errors too', async () => {
    const seed = new Uint8Array(readFileSync(FIXTURE_DIR + 'torch_written.safetensors'));
    for (let i = 0; i < 40; i++) {
      const path = join(tmp, `m${i}.safetensors`);
      writeFileSync(path, mutate(seed, prng(5000 + i)));
      try {
        await loadSafetensors(path);
      } catch (e) {
        expect(e, `disk mutation ${5000 + i}`).toBeInstanceOf(SafetensorsError);
      }
    }
  });

  it('arbitrary bytes after a plausible length prefix (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 220 }), (body, n) => {
        const bytes = new Uint8Array(8 + body.length);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(n), true);
        bytes.set(body, 8);
        attempt(bytes, 'fast-check');
      }),
      { numRuns: 25, seed: 42 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        attempt(build(JSON.stringify({ t: value })), 'fast-check header value');
      }),
      { numRuns: 25, seed: 7 },
    );
  });
});
