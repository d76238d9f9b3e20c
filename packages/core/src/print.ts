/** A PyTorch-like printed form for REPLs and notebooks: values (summarized when large), shape, dtype, device, grad. */
import type { Tensor } from './tensor.js';

const EDGE = 3;
const SUMMARIZE_OVER = 1000;

function formatNumber(v: number, dtype: string, decimals: number, sci: boolean): string {
  if (dtype === 'bool') return v ? 'true' : 'false';
  if (dtype === 'int32') return String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  return sci ? v.toExponential(4) : v.toFixed(decimals);
}

/** Renders the values of `data` (row-major, of `shape`) with aligned columns and '...' for skipped entries. */
export function formatValues(data: ArrayLike<number>, shape: readonly number[], dtype: string): string {
  const n = data.length;
  const summarize = n > SUMMARIZE_OVER;
  const finite = Array.from(data).filter((v) => Number.isFinite(v)).map(Math.abs);
  // A loop, not Math.max(...finite): spreading a million values overflows the call stack.
  const maxAbs = finite.reduce((a, b) => Math.max(a, b), 0);
  const minAbs = finite.filter((v) => v > 0).reduce((a, b) => Math.min(a, b), Infinity);
  const sci = dtype.startsWith('float') && (maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Infinity));
  const allInts = dtype.startsWith('float') && Array.from(data).every((v) => !Number.isFinite(v) || Number.isInteger(v));
  const decimals = allInts ? 0 : 4;
  const fmt = (v: number) => formatNumber(v, dtype, decimals, sci) + (allInts && !sci && Number.isFinite(v) ? '.' : '');
  const width = Math.max(1, ...Array.from(summarize ? [] : data, (v) => fmt(v).length));
  const pad = (s: string) => s.padStart(summarize ? 0 : width);
  if (shape.length === 0) return fmt(data[0]!);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const rec = (dim: number, off: number, indent: string): string => {
    const size = shape[dim]!;
    const picks = summarize && size > 2 * EDGE ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => size - EDGE + i)] : [...Array(size).keys()];
    if (dim === shape.length - 1) return '[' + picks.map((i) => (i < 0 ? '...' : pad(fmt(data[off + i]!)))).join(', ') + ']';
    const sep = ',' + '\n'.repeat(shape.length - dim - 1) + indent + ' ';
    return '[' + picks.map((i) => (i < 0 ? '...' : rec(dim + 1, off + i * strides[dim]!, indent + ' '))).join(sep) + ']';
  };
  return rec(0, 0, '       ');
}

export function formatTensor(t: Tensor): string {
  const meta = [`shape=[${t.shape.join(', ')}]`, `dtype=${t.dtype}`, `device=${t.device}`];
  if (t.gradFn) meta.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) meta.push('requiresGrad=true');
  let values: string;
  if (t.isDisposed || t.storage.isFreed) values = '<disposed>';
  else if (t.backend.capabilities.readSync) values = formatValues(t.dataSync(), t.shape, t.dtype);
  else values = '<on device; await t.data()>';
  return `tensor(${values}, ${meta.join(', ')})`;
}
