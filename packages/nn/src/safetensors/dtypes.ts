/**
 * Element types of safetensors files and their conversion to Tessera's dtypes. F64, F32, I32 and BOOL map
 * one-to-one and can be written; float16 tensors are written as F16. On read, F16 and BF16 become float32 and I8, U8, I16 and U16 become int32 (all
 * exact); I64 becomes int32 when every value fits, and is rejected otherwise rather than silently wrapped.
 * BOOL bytes other than 0 read as true.
 */
import { float16Bits, type DType, type TypedArray } from '@tessera/core';
import { SafetensorsError } from '../errors.js';

/**
 * `rank` is the position in the reference implementation's Dtype enum (BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16,
 * F16, BF16, I32, U32, F32, F64, I64, U64); its writer orders tensors by descending rank, then by name.
 */
export const FILE_DTYPES = {
  F64: { bytes: 8, tessera: 'float64', rank: 12 },
  F32: { bytes: 4, tessera: 'float32', rank: 11 },
  F16: { bytes: 2, tessera: 'float32', rank: 7 },
  BF16: { bytes: 2, tessera: 'float32', rank: 8 },
  I64: { bytes: 8, tessera: 'int32', rank: 13 },
  I32: { bytes: 4, tessera: 'int32', rank: 9 },
  I16: { bytes: 2, tessera: 'int32', rank: 5 },
  U16: { bytes: 2, tessera: 'int32', rank: 6 },
  I8: { bytes: 1, tessera: 'int32', rank: 2 },
  U8: { bytes: 1, tessera: 'int32', rank: 1 },
  BOOL: { bytes: 1, tessera: 'bool', rank: 0 },
} as const satisfies Record<string, { bytes: number; tessera: DType; rank: number }>;

export type FileDType = keyof typeof FILE_DTYPES;

/** The file dtype Tessera writes for each of its dtypes. */
export const FILE_DTYPE_OF: Record<DType, FileDType> = { float64: 'F64', float32: 'F32', float16: 'F16', int32: 'I32', bool: 'BOOL' };

export interface HostArray {
  dtype: DType;
  data: TypedArray;
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** float32 value of an IEEE half-precision bit pattern. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes little-endian elements of a file dtype into a host array of the matching Tessera dtype. */
export function decodeElements(dtype: FileDType, bytes: Uint8Array, name: string): HostArray {
  const n = bytes.length / FILE_DTYPES[dtype].bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // An aligned copy lets native-endian typed arrays read the bytes directly on little-endian hosts.
  const aligned = () => bytes.slice().buffer;
  switch (dtype) {
    case 'F64':
      if (hostIsLittleEndian) return { dtype: 'float64', data: new Float64Array(aligned()) };
      return { dtype: 'float64', data: Float64Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true)) };
    case 'F32':
      if (hostIsLittleEndian) return { dtype: 'float32', data: new Float32Array(aligned()) };
      return { dtype: 'float32', data: Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true)) };
    case 'I32':
      if (hostIsLittleEndian) return { dtype: 'int32', data: new Int32Array(aligned()) };
      return { dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true)) };
    case 'F16':
      return { dtype: 'float32', data: Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(2 * i, true))) };
    case 'BF16':
      return { dtype: 'float32', data: Float32Array.from({ length: n }, (_, i) => new Float32Array(new Uint32Array([view.getUint16(2 * i, true) << 16]).buffer)[0]!) };
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v < -2147483648n || v > 2147483647n)
          throw new SafetensorsError('lossy-conversion', `tensor "${name}": I64 value ${v} at element ${i} does not fit int32 (Tessera's integer dtype)`);
        out[i] = Number(v);
      }
      return { dtype: 'int32', data: out };
    }
    case 'I16':
      return { dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => view.getInt16(2 * i, true)) };
    case 'U16':
      return { dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => view.getUint16(2 * i, true)) };
    case 'I8':
      return { dtype: 'int32', data: Int32Array.from({ length: n }, (_, i) => view.getInt8(i)) };
    case 'U8':
      return { dtype: 'int32', data: Int32Array.from(bytes) };
    case 'BOOL':
      return { dtype: 'bool', data: Uint8Array.from(bytes, (b) => (b ? 1 : 0)) };
  }
}

/** Encodes host values as little-endian elements of a writable file dtype (F64, F32, F16, I32, BOOL). */
export function encodeElements(dtype: FileDType, data: ArrayLike<number>): Uint8Array {
  const n = data.length;
  switch (dtype) {
    case 'F64':
    case 'F32':
    case 'I32': {
      const Ctor = dtype === 'F64' ? Float64Array : dtype === 'F32' ? Float32Array : Int32Array;
      const arr = data instanceof Ctor ? data : Ctor.from(data);
      if (hostIsLittleEndian) return new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength));
      const out = new Uint8Array(n * Ctor.BYTES_PER_ELEMENT);
      const view = new DataView(out.buffer);
      for (let i = 0; i < n; i++) {
        if (dtype === 'F64') view.setFloat64(8 * i, arr[i]!, true);
        else if (dtype === 'F32') view.setFloat32(4 * i, arr[i]!, true);
        else view.setInt32(4 * i, arr[i]!, true);
      }
      return out;
    }
    case 'F16': {
      // float16 tensors are written as halves (their host values are exact halves, so nothing is rounded).
      const out = new Uint8Array(2 * n);
      const view = new DataView(out.buffer);
      for (let i = 0; i < n; i++) view.setUint16(2 * i, float16Bits(data[i]!), true);
      return out;
    }
    case 'BOOL':
      return Uint8Array.from({ length: n }, (_, i) => (data[i] ? 1 : 0));
    default:
      throw new SafetensorsError('unsupported-dtype', `writing ${dtype} is not supported (Tessera writes F64, F32, F16, I32 and BOOL)`);
  }
}
