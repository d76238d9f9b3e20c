/**
 * Dtype promotion: every combination of bool/int32/float16/float32/float64 tensors (dimensioned and 0-dim) with each
 * other and with JS int, float and bool scalars. The expected table was produced with PyTorch 1.13 (torch.add on the
 * same operands, int64 results read as int32, which is what Tessera uses in its place); the float16 rows and columns
 * were added by hand from the same rules (float16 sits between int32 and float32; a 0-dim float32 or a float scalar
 * does not widen a float16 tensor). PyTorch's mul, maximum and where give the same dtype as add; div gives the
 * default float dtype for integer/bool results.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { add, backendByName, div, eq, maximum, mul, setDefaultDtype, Tensor, tensor, where, type DType } from '@tessera/core';
import { BACKENDS, hasFloat64 } from '../support/backends.js';
import { expectClose } from '../support/close.js';
import { useBackend, vals } from './helpers.js';

const KINDS = [
  'T:bool', 'T:int32', 'T:float16', 'T:float32', 'T:float64', 'Z:bool', 'Z:int32', 'Z:float16', 'Z:float32', 'Z:float64',
  'S:int', 'S:float', 'S:bool',
] as const;
type Kind = (typeof KINDS)[number];
const CODE: Record<string, DType> = { b: 'bool', i: 'int32', h: 'float16', f: 'float32', d: 'float64' };
/** Row: left operand (tensor kinds only); column: right operand, in KINDS order. From PyTorch (see above). */
const TABLE: Record<string, string> = {
  'T:bool': 'bihfdbihfdifb',
  'T:int32': 'iihfdiihfdifi',
  'T:float16': 'hhhfdhhhhhhhh',
  'T:float32': 'ffffdffffffff',
  'T:float64': 'ddddddddddddd',
  'Z:bool': 'bihfdbihfdifb',
  'Z:int32': 'iihfdiihfdifi',
  'Z:float16': 'hhhfdhhhfdhhh',
  'Z:float32': 'ffhfdffffdfff',
  'Z:float64': 'ddhfddddddddd',
};

function operand(kind: Kind, device: string): Tensor | number | boolean {
  const [k, d] = kind.split(':') as [string, string];
  if (k === 'S') return d === 'int' ? 2 : d === 'float' ? 2.5 : true;
  return tensor(k === 'T' ? [1, 1] : 1, { dtype: d as DType, device });
}

describe.each(BACKENDS)('dtype promotion follows PyTorch (%s)', (name) => {
  useBackend(name);
  const has64 = hasFloat64(name);
  const has16 = backendByName(name).capabilities.dtypes.includes('float16');

  for (const [left, row] of Object.entries(TABLE))
    it(`${left} with every other operand kind`, async () => {
      KINDS.forEach((right, j) => {
        if (!has64 && (left.endsWith('float64') || right.endsWith('float64'))) return;
        if (!has16 && (left.endsWith('float16') || right.endsWith('float16'))) return;
        const expected = CODE[row[j]!]!;
        const a = operand(left as Kind, name) as Tensor;
        const b = operand(right, name);
        const what = `${left} ⊕ ${right}`;
        expect(add(a, b).dtype, `add ${what}`).toBe(expected);
        expect(add(b, a).dtype, `add ${right} ⊕ ${left} (commutes)`).toBe(expected);
        expect(mul(a, b).dtype, `mul ${what}`).toBe(expected);
        expect(div(a, b).dtype, `div ${what}`).toBe(expected === 'float64' || expected === 'float16' ? expected : 'float32');
        expect(eq(a, b).dtype, `eq ${what}`).toBe('bool');
        if (b instanceof Tensor) expect(maximum(a, b).dtype, `maximum ${what}`).toBe(expected);
        expect(where(tensor([true, false], { device: name }), a, b).dtype, `where ${what}`).toBe(expected);
      });
    });

  it('promoted values are computed in the promoted dtype', async () => {
    const i = tensor([1, 2, 3], { dtype: 'int32' });
    const r = i.add(2.5);
    expect(r.dtype).toBe('float32');
    expectClose(await r.data(), [3.5, 4.5, 5.5]);
    expect(await vals(i.mul(true))).toEqual([1, 2, 3]);
    expect(await vals(tensor([true, false, true]).add(tensor([true, true, false])))).toEqual([1, 1, 1]);
    expect(await vals(tensor([true, false]).mul(tensor([true, true])))).toEqual([1, 0]);
    // A 0-dim float64 does not widen a float32 tensor, but a 0-dim float beats an int tensor.
    if (!has64) return;
    const z = tensor(0.1, { dtype: 'float64' });
    expect(tensor([1], { dtype: 'float32' }).add(z).dtype).toBe('float32');
    expect(tensor([1], { dtype: 'int32' }).add(z).dtype).toBe('float64');
  });

  it('the default float dtype decides float scalars and int → float results', async () => {
    if (!has64) return;
    setDefaultDtype('float64');
    try {
      const i = tensor([1, 2], { dtype: 'int32' });
      expect(i.mul(0.5).dtype).toBe('float64');
      expect(i.div(2).dtype).toBe('float64');
      expect(i.sqrt().dtype).toBe('float64');
      expect(tensor([1.5]).dtype).toBe('float64');
      expect(tensor([1], { dtype: 'float32' }).mul(0.5).dtype).toBe('float32');
    } finally {
      setDefaultDtype('float32');
    }
  });
});

afterEach(() => setDefaultDtype('float32'));
