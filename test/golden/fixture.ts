/**
 * Reads test/fixtures/golden-ops.json (PyTorch golden values, made by scripts/make_fixtures.py) and runs one case on
 * one backend: builds the inputs (and the views a case asks for), calls the op through the table, compares every
 * output and, with the stored upstream gradients, the gradient of every input that requires grad.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { grad, isFloat, tensor, Tensor, type DType, type TensorLike } from '@tessera/core';
import { expectClose, type Tolerance } from '../support/close.js';

/** A stored number: JSON has no NaN/Infinity, so those are strings. */
export type Num = number | 'NaN' | 'Infinity' | '-Infinity';
type InputDType = 'float' | 'float32' | 'float64' | 'int32' | 'bool';
type ViewStep = ['transpose', number, number] | ['permute', number[]] | ['slice', number, number, number, number] | ['expand', number[]];

export interface TensorInput {
  shape: number[];
  /** 'float' is the suite's float dtype (float64 where the backend has it, else float32). */
  dtype: InputDType;
  data: Num[];
  grad?: boolean;
  view?: ViewStep[];
}
export type CaseInput = TensorInput | { scalar: Num | boolean | null };
export interface CaseOutput {
  shape: number[];
  dtype: DType;
  data: Num[];
}
export interface GoldenCase {
  name: string;
  op: string;
  args: Record<string, unknown>;
  inputs: CaseInput[];
  outputs: CaseOutput[];
  upstream?: (Num[] | null)[];
  grads?: (Num[] | null)[];
  tol?: Tolerance;
  exactDtype?: boolean;
}

export type Operand = Tensor | number | boolean | null;
/** Options of a case (untyped JSON), with 'Infinity'-style strings already turned into numbers. */
export type Args = Record<string, any>;
export interface Ctx {
  device: string;
  float: DType;
}
export type OpResult = Tensor | Tensor[] | { values: Tensor; indices: Tensor };
export type OpFn = (x: Operand[], a: Args, ctx: Ctx) => OpResult;

const FIXTURE = new URL('../fixtures/golden-ops.json', import.meta.url);
export const CASES: GoldenCase[] = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: GoldenCase[] }).cases;

const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
export const decodeNum = (v: Num): number => (typeof v === 'string' ? SPECIAL[v]! : v);
/** Recursively turns the special-float strings of args back into numbers (other strings stay). */
function decodeArgs(v: unknown): unknown {
  if (typeof v === 'string') return v in SPECIAL ? SPECIAL[v] : v;
  if (Array.isArray(v)) return v.map(decodeArgs);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeArgs(x)]));
  return v;
}

/** The operand must be a tensor. */
export function T(v: Operand): Tensor {
  if (!(v instanceof Tensor)) throw new Error(`golden: expected a tensor operand, got ${String(v)}`);
  return v;
}
/** The operand must be a tensor or a scalar. */
export function L(v: Operand): TensorLike {
  if (v === null) throw new Error('golden: expected a tensor or scalar operand, got null');
  return v;
}

const typed = (dtype: DType, data: number[]) =>
  dtype === 'float64' ? Float64Array.from(data) : dtype === 'float32' ? Float32Array.from(data) : dtype === 'int32' ? Int32Array.from(data) : Uint8Array.from(data);

function applyView(x: Tensor, steps: ViewStep[] = []): Tensor {
  for (const s of steps) {
    if (s[0] === 'transpose') x = x.transpose(s[1], s[2]);
    else if (s[0] === 'permute') x = x.permute(s[1]);
    else if (s[0] === 'slice') x = x.slice(s[1], s[2], s[3], s[4]);
    else x = x.expand(s[1]);
  }
  return x;
}

/** Whether this backend can run the case (explicit float64 needs a float64 backend). */
export function runnable(c: GoldenCase, float: DType): boolean {
  if (float === 'float64') return true;
  return !c.inputs.some((i) => 'dtype' in i && i.dtype === 'float64') && !(c.exactDtype && c.outputs.some((o) => o.dtype === 'float64'));
}

const category = (d: DType) => (isFloat(d) ? 'float' : d);

/** Runs one case and asserts outputs and gradients against the fixture. */
export async function checkCase(c: GoldenCase, fn: OpFn, ctx: Ctx, baseTol: Tolerance): Promise<void> {
  const tol = { atol: Math.max(baseTol.atol ?? 0, c.tol?.atol ?? 0), rtol: Math.max(baseTol.rtol ?? 0, c.tol?.rtol ?? 0) };
  const leaves: (Tensor | null)[] = [];
  const operands: Operand[] = c.inputs.map((inp) => {
    if ('scalar' in inp) {
      leaves.push(null);
      return typeof inp.scalar === 'boolean' || inp.scalar === null ? inp.scalar : decodeNum(inp.scalar);
    }
    const dtype: DType = inp.dtype === 'float' ? ctx.float : inp.dtype;
    const leaf = tensor(typed(dtype, inp.data.map(decodeNum)), { shape: inp.shape, dtype, device: ctx.device, requiresGrad: !!inp.grad });
    leaves.push(inp.grad ? leaf : null);
    return applyView(leaf, inp.view);
  });

  const result = fn(operands, decodeArgs(c.args) as Args, ctx);
  const outs = result instanceof Tensor ? [result] : Array.isArray(result) ? result : [result.values, result.indices];
  expect(outs.length, `${c.name}: number of outputs`).toBe(c.outputs.length);
  for (const [i, o] of outs.entries()) {
    const want = c.outputs[i]!;
    const what = `${c.name} output ${i}`;
    expect(o.shape, `${what} shape`).toEqual(want.shape);
    if (c.exactDtype) expect(o.dtype, `${what} dtype`).toBe(want.dtype);
    else expect(category(o.dtype), `${what} dtype category (${o.dtype} vs torch ${want.dtype})`).toBe(category(want.dtype));
    expectClose(await o.data(), want.data.map(decodeNum), tol, what);
  }

  if (!c.grads || !c.upstream) return;
  const diffOuts = outs.filter((_, i) => c.upstream![i]);
  const seeds = outs.flatMap((o, i) => {
    const u = c.upstream![i];
    return u ? [tensor(typed(o.dtype, u.map(decodeNum)), { shape: o.shape, dtype: o.dtype, device: ctx.device })] : [];
  });
  const wrt = leaves.filter((l): l is Tensor => l !== null);
  const grads = grad(diffOuts, wrt, { gradOutputs: seeds, allowUnused: true });
  let k = 0;
  for (const [i, expected] of c.grads.entries()) {
    if (!expected) continue;
    const g = grads[k++] ?? null;
    const got = g ? await g.data() : new Array<number>(expected.length).fill(0);
    if (g) expect(g.shape, `${c.name} grad ${i} shape`).toEqual((c.inputs[i] as TensorInput).shape);
    expectClose(got, expected.map(decodeNum), tol, `${c.name} grad of input ${i}`);
  }
}
