/**
 * safetensors interop: a file written from PyTorch tensors loads with identical values; the file Tessera writes is
 * byte-identical to the committed fixture that scripts/make_nn_fixtures.py validated (run this suite with
 * TESSERA_WRITE_FIXTURES=1 to regenerate it, then rerun the script); round trips are exact; writes are atomic.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, tensor, zeros, type Tensor } from '@tessera/core';
import {
  Embedding, LayerNorm, loadSafetensors, loadSafetensorsFromBytes, MLP, readSafetensorsHeader, SafetensorsError, saveSafetensors,
  saveSafetensorsToBytes, Sequential, Linear, serializeSafetensors,
} from '../src/index.js';
import { expectClose } from '../../../test/support/close.js';
import { FIXTURE_DIR, fixture, fromFixture, type FT } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-st-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const decodeSpecial = (v: number | string | boolean): number =>
  typeof v === 'boolean' ? +v : v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === '-0' ? -0 : (v as number);

describe('reading files written from PyTorch', () => {
  it('loads every dtype with identical values (F16/BF16 → float32, I64 → int32) and the metadata', async () => {
    const expected = fixture<{ metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; data: (number | string | boolean)[] }> }>('torch_written.json');
    const { tensors, metadata } = await loadSafetensors(FIXTURE_DIR + 'torch_written.safetensors');
    expect(metadata).toEqual(expected.metadata);
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, e] of Object.entries(expected.tensors)) {
      const t = tensors[name]!;
      expect([name, t.dtype, t.shape]).toEqual([name, e.dtype, e.shape]);
      const got = Array.from(await t.data());
      const want = e.data.map(decodeSpecial);
      for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i]), `${name}[${i}]: ${got[i]} vs ${want[i]}`).toBe(true);
    }
    const header = await readSafetensorsHeader(FIXTURE_DIR + 'torch_written.safetensors');
    expect(header.entries.find((e) => e.name === 'i64')).toMatchObject({ dtype: 'I64', shape: [3] });
  });

  it('PyTorch MLP weights load into a Tessera MLP and give PyTorch’s output', async () => {
    const { input, output } = fixture<{ input: FT; output: FT }>('mlp_weights.json');
    const { tensors } = await loadSafetensors(FIXTURE_DIR + 'mlp_weights.safetensors');
    const mlp = new MLP(4, 8);
    mlp.loadStateDict(tensors);
    expectClose(await mlp.forward(fromFixture(input, 'float32')).data(), output.data, { atol: 1e-6, rtol: 1e-5 });
  });
});

/** The tensors whose file scripts/make_nn_fixtures.py validates (keep in sync with canonical_tessera_tensors). */
function canonicalTensors(): Record<string, Tensor> {
  return {
    'layers.0.weight': tensor([[0.25, -0.5], [0.75, 1.0]]),
    a: tensor([0, 1, 2, 3, 4, 5].map((v) => v * 0.5 - 1)).reshape([2, 3]),
    b: tensor([1 / 3, -2.5e-300, 1e300], { dtype: 'float64' }),
    c: tensor([[-(2 ** 31), 2 ** 31 - 1], [0, -1]], { dtype: 'int32' }),
    d: tensor([true, false, true]),
    e: tensor(3.25),
    z_empty: zeros([0, 2], { dtype: 'float64' }),
  };
}
const CANONICAL_METADATA = { format: 'tessera', note: 'canonical fixture' };

describe('writing files PyTorch can read', () => {
  it('produces exactly the bytes of the fixture validated by the Python script', async () => {
    const bytes = await saveSafetensorsToBytes(canonicalTensors(), CANONICAL_METADATA);
    const path = FIXTURE_DIR + 'tessera_written.safetensors';
    if (process.env.TESSERA_WRITE_FIXTURES === '1') writeFileSync(path, bytes);
    expect(existsSync(path), 'run with TESSERA_WRITE_FIXTURES=1, then /usr/bin/python3 scripts/make_nn_fixtures.py').toBe(true);
    expect(Buffer.from(bytes).equals(readFileSync(path))).toBe(true);
    const check = fixture<{ sha256: string; byteIdentical: boolean; valid: boolean; problems: string[] }>('tessera_written.check.json');
    expect(check).toMatchObject({ valid: true, byteIdentical: true, problems: [] });
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(check.sha256);
  });

  it('lays out the header like the reference: 8-byte aligned, space padded, metadata first, data order', async () => {
    const bytes = await saveSafetensorsToBytes(canonicalTensors(), CANONICAL_METADATA);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.startsWith('{"__metadata__":{"format":"tessera","note":"canonical fixture"},"b":{"dtype":"F64"')).toBe(true);
    const trimmed = text.trimEnd();
    expect(trimmed.endsWith('}') && text.length - trimmed.length < 8).toBe(true);
    expect(text.slice(trimmed.length)).toMatch(/^ *$/);
    const offsets = Object.entries(JSON.parse(text) as Record<string, { data_offsets?: number[] }>).flatMap(([, v]) => (v.data_offsets ? [v.data_offsets[0]!] : []));
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
  });

  it('matches the reference serialization of small examples byte for byte', async () => {
    const le64 = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0];
    const ascii = (t: string) => Array.from(new TextEncoder().encode(t));
    expect(Array.from(serializeSafetensors({}))).toEqual([...le64(8), ...ascii('{}      ')]);
    expect(Array.from(serializeSafetensors({}, { framework: 'pt' }))).toEqual([...le64(40), ...ascii('{"__metadata__":{"framework":"pt"}}     ')]);
    const floats = Array.from(new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer));
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    expect(Array.from(serializeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data: [0, 1, 2, 3, 4, 5] } }))).toEqual([...le64(64), ...ascii(header), ...floats]);
    // Ties in element size are broken by the reference's dtype order (F32 before I32), then by name.
    const mixed = serializeSafetensors({ c: { dtype: 'I32', shape: [1], data: [1] }, a: { dtype: 'F32', shape: [1], data: [1] }, b: { dtype: 'F32', shape: [1], data: [1] } });
    expect(new TextDecoder().decode(mixed.subarray(8)).match(/"(\w)":/g)).toEqual(['"a":', '"b":', '"c":']);
  });

  it('round-trips every dtype exactly, including non-finite values', async () => {
    const src = canonicalTensors();
    src.special = tensor([NaN, -0, Infinity, -Infinity, 1e-45], { dtype: 'float32' });
    const path = join(tmp, 'roundtrip.safetensors');
    await saveSafetensors(path, src, { k: 'v' });
    const { tensors, metadata } = await loadSafetensors(path);
    expect(metadata).toEqual({ k: 'v' });
    for (const [k, t] of Object.entries(src)) {
      expect([k, tensors[k]!.dtype, tensors[k]!.shape]).toEqual([k, t.dtype, t.shape]);
      const [a, b] = [Array.from(await tensors[k]!.data()), Array.from(await t.data())];
      expect(a.every((v, i) => Object.is(v, b[i]))).toBe(true);
    }
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a model saved and loaded through a file has identical weights (float32 and float64)', async () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const g = new Generator(9);
      const model = () => new Sequential(new Embedding(7, 4, { dtype, generator: g }), new LayerNorm(4, { dtype }), new Linear(4, 3, { dtype, generator: g }));
      const a = model();
      const path = join(tmp, `model-${dtype}.safetensors`);
      await saveSafetensors(path, a.stateDict());
      const b = model();
      b.loadStateDict((await loadSafetensors(path)).tensors);
      for (const [k, t] of Object.entries(a.stateDict())) expect(await b.stateDict()[k]!.data()).toEqual(await t.data());
    }
  });

  it('overwrites atomically and leaves the old file when writing fails', async () => {
    const path = join(tmp, 'atomic.safetensors');
    await saveSafetensors(path, { x: tensor([1, 2]) });
    await saveSafetensors(path, { x: tensor([3, 4, 5]) });
    expect(Array.from(await (await loadSafetensors(path)).tensors.x!.data())).toEqual([3, 4, 5]);
    await expect(saveSafetensors(path, { __metadata__: tensor([1]) })).rejects.toThrow(SafetensorsError);
    await expect(saveSafetensors(join(tmp, 'missing-dir', 'f.safetensors'), { x: tensor([1]) })).rejects.toThrow(/ENOENT/);
    expect(Array.from(await (await loadSafetensors(path)).tensors.x!.data())).toEqual([3, 4, 5]);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('treats any tensor name as data, never as an object key with meaning', async () => {
    const bytes = await saveSafetensorsToBytes({ ['__proto__']: tensor([1]), constructor: tensor([2]), '0': tensor([3]) } as Record<string, Tensor>);
    const { tensors } = loadSafetensorsFromBytes(bytes);
    expect(Object.keys(tensors).sort()).toEqual(['0', '__proto__', 'constructor']);
    expect(await tensors.__proto__!.item()).toBe(1);
  });
});
