/**
 * The safetensors byte format, independent of files and tensors:
 *
 *   [8 bytes: N, unsigned little-endian] [N bytes: UTF-8 JSON header] [data]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (byte offsets into the data
 * section) plus an optional "__metadata__" object of string → string. Tensors are row-major and little-endian.
 *
 * The parser trusts nothing: it checks the header size against a cap and the file size before allocating, and
 * that the entries tile the data section exactly (no gaps, overlaps or out-of-range offsets, the same rule as the
 * reference implementation), with byte counts matching dtype × shape. Every failure is a SafetensorsError.
 * The writer follows the reference implementation's layout: entries ordered by its dtype order (descending; this
 * puts larger alignments first) then by name, header padded with spaces to a multiple of 8 bytes, so the data of
 * every tensor is aligned to its element size.
 */
import { SafetensorsError } from '../errors.js';
import { decodeElements, encodeElements, FILE_DTYPES, type FileDType, type HostArray } from './dtypes.js';

/** Headers larger than this are rejected before any allocation (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's raw content as stored in a file (after conversion to one of Tessera's dtypes). */
export interface RawTensor {
  dtype: HostArray['dtype'];
  shape: number[];
  data: HostArray['data'];
  /** The dtype in the file (F16, BF16 and I64 are converted on read). */
  fileDtype: FileDType;
}

/** A parsed header entry. */
export interface HeaderEntry {
  name: string;
  dtype: FileDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface ParsedHeader {
  entries: HeaderEntry[];
  metadata: Record<string, string> | null;
  /** Byte length of the header (N). */
  headerLength: number;
}

const fail = (code: ConstructorParameters<typeof SafetensorsError>[0], msg: string): never => {
  throw new SafetensorsError(code, msg);
};

/** Reads N from the first 8 bytes and checks it against the cap and the bytes available after it. */
export function readHeaderLength(prefix: Uint8Array, totalBytes: number, maxHeaderBytes = MAX_HEADER_BYTES): number {
  if (prefix.length < 8 || totalBytes < 8) fail('truncated', `file is ${totalBytes} bytes, too short for the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (n > maxHeaderBytes) fail('header-too-large', `header length ${n} exceeds the limit of ${maxHeaderBytes} bytes`);
  if (n > totalBytes - 8) fail('truncated', `header length ${n} runs past the end of the file (${totalBytes - 8} bytes after the length)`);
  if (n < 2) fail('invalid-header', `header length ${n} is too small for a JSON object`);
  return n;
}

/** Parses and validates the JSON header against the size of the data section. */
export function parseHeader(headerBytes: Uint8Array, dataLength: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return fail('invalid-header', 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail('invalid-header', `header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 16))}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail('invalid-header', `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('invalid-header', 'header must be a JSON object');

  let metadata: Record<string, string> | null = null;
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(value);
      continue;
    }
    entries.push(parseEntry(name, value));
  }
  checkTiling(entries, dataLength);
  return { entries, metadata, headerLength: headerBytes.length };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('invalid-metadata', '__metadata__ must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') fail('invalid-metadata', `__metadata__["${k}"] must be a string, got ${v === null ? 'null' : typeof v}`);
    out[k] = v as string;
  }
  return out;
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseEntry(name: string, value: unknown): HeaderEntry {
  const where = `tensor "${name}"`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('invalid-entry', `${where}: entry must be an object`);
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
  if (extra.length) fail('invalid-entry', `${where}: unexpected field(s) ${extra.join(', ')}`);
  if (typeof v.dtype !== 'string') fail('invalid-entry', `${where}: dtype must be a string`);
  if (!(FILE_DTYPES as Record<string, unknown>)[v.dtype as string])
    fail('unsupported-dtype', `${where}: unsupported dtype '${String(v.dtype).slice(0, 32)}' (supported: ${Object.keys(FILE_DTYPES).join(', ')})`);
  const dtype = v.dtype as FileDType;
  if (!Array.isArray(v.shape) || !v.shape.every(isIndex)) return fail('invalid-entry', `${where}: shape must be an array of non-negative integers`);
  const shape = v.shape as number[];
  const off = v.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isIndex)) return fail('invalid-offsets', `${where}: data_offsets must be [begin, end] non-negative integers`);
  const [begin, end] = off as [number, number];
  if (begin > end) fail('invalid-offsets', `${where}: data_offsets [${begin}, ${end}] end before they begin`);
  let numel = 1;
  for (const d of shape) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) fail('shape-mismatch', `${where}: shape [${shape.join(', ')}] has too many elements`);
  }
  const bytes = numel * FILE_DTYPES[dtype].bytes;
  if (!Number.isSafeInteger(bytes) || bytes !== end - begin)
    fail('shape-mismatch', `${where}: ${dtype} shape [${shape.join(', ')}] needs ${bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
  return { name, dtype, shape, begin, end };
}

/** Entries sorted by offset must start at 0, follow each other without gaps or overlaps, and end at the data end. */
function checkTiling(entries: HeaderEntry[], dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin !== pos)
      fail('invalid-offsets', `tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] ${e.begin < pos ? 'overlap the previous tensor' : `leave a gap after byte ${pos}`}`);
    pos = e.end;
  }
  if (pos !== dataLength)
    fail(pos > dataLength ? 'truncated' : 'invalid-offsets', `tensors cover ${pos} bytes of data but the file holds ${dataLength}`);
}

/** Parses a whole file held in memory into raw tensors (in header order) and metadata. */
export function parseSafetensorsBytes(bytes: Uint8Array, maxHeaderBytes = MAX_HEADER_BYTES): { tensors: Map<string, RawTensor>; metadata: Record<string, string> | null } {
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, maxHeaderBytes);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n);
  const data = bytes.subarray(8 + n);
  const tensors = new Map<string, RawTensor>();
  for (const e of header.entries) tensors.set(e.name, decodeEntry(e, data.subarray(e.begin, e.end)));
  return { tensors, metadata: header.metadata };
}

/** Converts one entry's bytes into a host array of a Tessera dtype. */
export function decodeEntry(e: HeaderEntry, bytes: Uint8Array): RawTensor {
  const host = decodeElements(e.dtype, bytes, e.name);
  return { ...host, shape: e.shape, fileDtype: e.dtype };
}

/** Orders strings by their UTF-8 bytes (Rust's and Python's string order; JS's `<` compares UTF-16 units). */
function compareUtf8(a: string, b: string): number {
  const [x, y] = [new TextEncoder().encode(a), new TextEncoder().encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** A tensor to serialize: its file dtype, shape and row-major host values. */
export interface TensorToWrite {
  dtype: FileDType;
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** Serializes tensors and metadata into safetensors bytes (reference layout, see the file comment). */
export function serializeSafetensors(tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>, metadata?: Record<string, string> | null): Uint8Array {
  const items = [...(tensors instanceof Map ? tensors : Object.entries(tensors))].map(([name, t]) => {
    if (name === '__metadata__') fail('invalid-tensor', 'a tensor cannot be named "__metadata__"');
    const spec = FILE_DTYPES[t.dtype];
    if (!spec) fail('unsupported-dtype', `tensor "${name}": cannot write dtype '${t.dtype}'`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) fail('shape-mismatch', `tensor "${name}": shape [${t.shape.join(', ')}] needs ${numel} values, got ${t.data.length}`);
    return { name, t, spec, bytes: encodeElements(t.dtype, t.data) };
  });
  items.sort((a, b) => b.spec.rank - a.spec.rank || compareUtf8(a.name, b.name));
  // Built by hand so keys keep their order (JSON.stringify would move integer-like names first): metadata first,
  // then tensors in data order, like the reference implementation.
  const parts: string[] = [];
  if (metadata) {
    const meta = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') fail('invalid-metadata', `metadata["${k}"] must be a string`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${meta.join(',')}}`);
  }
  let offset = 0;
  for (const { name, t, bytes } of items) {
    const info = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let pos = 8 + padded;
  for (const { bytes } of items) {
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}
