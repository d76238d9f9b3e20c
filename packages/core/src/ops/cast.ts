/** Moving tensors between dtypes and devices. */
import { attach } from '../autograd/node.js';
import { isGradEnabled } from '../autograd/mode.js';
import { backendByName, listBackends } from '../backend/registry.js';
import { DTYPES, isFloat, type DType } from '../dtype.js';
import { ArgumentError, DeviceError } from '../errors.js';
import { Tensor } from '../tensor.js';
import * as prim from './prim.js';

export type ToTarget = DType | string | { dtype?: DType; device?: string };

/** Converts dtype; between float dtypes the gradient is converted back. */
export function toDtype(x: Tensor, dtype: DType): Tensor {
  if (!DTYPES.includes(dtype)) throw new ArgumentError(`to: unknown dtype '${dtype}' (expected one of ${DTYPES.join(', ')})`);
  if (x.dtype === dtype) return x;
  const out = prim.cast(x, dtype);
  if (!isFloat(dtype)) return out;
  return attach(out, 'to', [x], (g) => [g.to(x.dtype)]);
}

/** Copies to another backend; needs a synchronous read of the source (use toAsync from WebGPU). */
export function toDevice(x: Tensor, device: string): Tensor {
  const target = backendByName(device);
  if (target === x.backend) return x;
  if (!x.backend.capabilities.readSync || !x.backend.readSync)
    throw new DeviceError(`to: cannot move from '${x.device}' synchronously; use 'await tensor.toAsync("${device}")'`);
  const data = x.backend.readSync(x.layout('to'));
  return moved(x, Tensor.fromBuffer(target, target.upload(data, x.dtype), x.shape, x.dtype));
}

/** Copies to another backend, waiting for the source's data. */
export async function toAsync(x: Tensor, device: string): Promise<Tensor> {
  const target = backendByName(device);
  if (target === x.backend) return x;
  const data = await x.data();
  return moved(x, Tensor.fromBuffer(target, target.upload(data, x.dtype), x.shape, x.dtype));
}

function moved(x: Tensor, out: Tensor): Tensor {
  if (!isGradEnabled() || !x.requiresGrad) return out;
  return attach(out, 'to', [x], (g) => [g.to(x.device)]);
}

export function to(x: Tensor, target: ToTarget): Tensor {
  if (typeof target === 'string') {
    if ((DTYPES as readonly string[]).includes(target)) return toDtype(x, target as DType);
    // A string may name either, so a typo gets an error that lists both (not just "unknown backend 'bfloat16'").
    if (!listBackends().includes(target))
      throw new ArgumentError(`to: '${target}' is neither a dtype (${DTYPES.join(', ')}) nor a registered device (${listBackends().join(', ')})`);
    return toDevice(x, target);
  }
  let y = x;
  if (target.device) y = toDevice(y, target.device);
  if (target.dtype) y = toDtype(y, target.dtype);
  return y;
}
