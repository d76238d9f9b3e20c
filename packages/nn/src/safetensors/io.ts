/**
 * Reading and writing safetensors files with Node's fs/promises. Reads check the header before allocating and
 * allocate at most the file's own size; writes are atomic (temporary file, fsync, rename, then fsync of the
 * directory), so a crash leaves either the old file or the complete new one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { tensor, Tensor } from '@tessera/core';
import { SafetensorsError } from '../errors.js';
import { FILE_DTYPE_OF } from './dtypes.js';
import { decodeEntry, MAX_HEADER_BYTES, parseHeader, readHeaderLength, serializeSafetensors, type HeaderEntry, type TensorToWrite } from './format.js';

export interface LoadOptions {
  /** Backend for the loaded tensors; the current backend otherwise. */
  device?: string;
  /** Largest header accepted, in bytes (default 100 MB). */
  maxHeaderBytes?: number;
}

export interface LoadedSafetensors {
  /** Tensors by name, in header order (a null-prototype object, so any name is safe as a key). */
  tensors: Record<string, Tensor>;
  metadata: Record<string, string> | null;
}

/** Fills buf from the file at `position`, failing with 'truncated' if the file ends first. */
async function readFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError('truncated', `file ended after ${position + done} bytes while reading`);
    done += bytesRead;
  }
}

async function readValidatedHeader(fh: FileHandle, maxHeaderBytes: number) {
  const { size } = await fh.stat();
  const prefix = new Uint8Array(Math.min(8, size));
  await readFully(fh, prefix, 0);
  const n = readHeaderLength(prefix, size, maxHeaderBytes);
  const headerBytes = new Uint8Array(n);
  await readFully(fh, headerBytes, 8);
  return { size, n, header: parseHeader(headerBytes, size - 8 - n) };
}

/** Reads only the header: tensor names, dtypes, shapes and offsets, and the metadata. */
export async function readSafetensorsHeader(path: string, opts: Pick<LoadOptions, 'maxHeaderBytes'> = {}): Promise<{ entries: HeaderEntry[]; metadata: Record<string, string> | null }> {
  const fh = await open(path, 'r');
  try {
    const { header } = await readValidatedHeader(fh, opts.maxHeaderBytes ?? MAX_HEADER_BYTES);
    return { entries: header.entries, metadata: header.metadata };
  } finally {
    await fh.close();
  }
}

/** Loads every tensor of a safetensors file. Malformed files raise SafetensorsError. */
export async function loadSafetensors(path: string, opts: LoadOptions = {}): Promise<LoadedSafetensors> {
  const fh = await open(path, 'r');
  let data: Uint8Array;
  let parsed: Awaited<ReturnType<typeof readValidatedHeader>>;
  try {
    parsed = await readValidatedHeader(fh, opts.maxHeaderBytes ?? MAX_HEADER_BYTES);
    data = new Uint8Array(parsed.size - 8 - parsed.n);
    await readFully(fh, data, 8 + parsed.n);
  } finally {
    await fh.close();
  }
  return { tensors: tensorsFromEntries(parsed.header.entries, data, opts.device), metadata: parsed.header.metadata };
}

/** Parses safetensors bytes already in memory into tensors. */
export function loadSafetensorsFromBytes(bytes: Uint8Array, opts: LoadOptions = {}): LoadedSafetensors {
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, opts.maxHeaderBytes ?? MAX_HEADER_BYTES);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n);
  return { tensors: tensorsFromEntries(header.entries, bytes.subarray(8 + n), opts.device), metadata: header.metadata };
}

function tensorsFromEntries(entries: HeaderEntry[], data: Uint8Array, device: string | undefined): Record<string, Tensor> {
  // Decode everything first so a conversion error leaves no half-built set of tensors behind.
  const raws = entries.map((e) => [e.name, decodeEntry(e, data.subarray(e.begin, e.end))] as const);
  const out = Object.create(null) as Record<string, Tensor>;
  for (const [name, raw] of raws) out[name] = tensor(raw.data, { shape: raw.shape, dtype: raw.dtype, device });
  return out;
}

/** Serializes tensors (waiting for their data) into safetensors bytes. */
export async function saveSafetensorsToBytes(tensors: Record<string, Tensor> | Map<string, Tensor>, metadata?: Record<string, string> | null): Promise<Uint8Array> {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const toWrite = new Map<string, TensorToWrite>();
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new SafetensorsError('invalid-tensor', `"${name}" is not a Tensor`);
    toWrite.set(name, { dtype: FILE_DTYPE_OF[t.dtype], shape: t.shape, data: await t.data() });
  }
  return serializeSafetensors(toWrite, metadata);
}

/** Writes tensors to a safetensors file atomically. */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata?: Record<string, string> | null): Promise<void> {
  await writeFileAtomic(path, await saveSafetensorsToBytes(tensors, metadata));
}

/** Writes bytes to `path` via a temporary file in the same directory, fsync and rename. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  // Persist the rename itself; some platforms cannot open directories, which only weakens durability.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}
