/**
 * Finite-difference gradient checks (like torch.autograd.gradcheck / gradgradcheck).
 *
 * The full analytic Jacobian — one backward pass per output element, with a one-hot gradient — is compared with a
 * numeric one from central differences. Inputs are perturbed functionally (x + eps·onehot), never in place, so any
 * input layout works: transposed, stepped, flipped, even overlapping views. The perturbed copy keeps the input's
 * strides unless its elements overlap in memory (then it is contiguous). Values are read with `await t.data()`,
 * so the checks run on backends that cannot read synchronously too. Meant for small inputs: the cost is one backward
 * per output element plus two forwards per input element.
 */
import { grad } from '../autograd/engine.js';
import { isFloat } from '../dtype.js';
import { ArgumentError, AutogradError, DTypeError, fmtShape } from '../errors.js';
import { Generator } from '../random.js';
import { randn, tensor, zerosLike } from '../ops/creation.js';
import { noGrad, enableGrad } from '../autograd/mode.js';
import { scope, Tensor } from '../tensor.js';
import '../ops/methods.js';

/** A function under test: takes the inputs in order and returns one tensor or several. */
export type GradcheckFn = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

/** Step and tolerances of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance, relative to the numeric value (default 1e-3). */
  rtol?: number;
  /** Throw a {@link GradcheckError} on a mismatch (default true); with false, resolve to false instead. */
  raiseException?: boolean;
}

/** Options of {@link gradgradcheck}. */
export interface GradgradcheckOptions extends GradcheckOptions {
  /** Seed for the random gradOutputs drawn when none are given (default 0, so runs are reproducible). */
  seed?: number;
}

/** Thrown when an analytic gradient disagrees with the finite-difference one; the message names the entry. */
export class GradcheckError extends AutogradError {}

/** Row-major multi-index of flat position `i` in `shape`. */
export function unravelIndex(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const s = shape[d]!;
    out[d] = i % s;
    i = Math.floor(i / s);
  }
  return out;
}

const toList = (x: Tensor | readonly Tensor[]): Tensor[] => (x instanceof Tensor ? [x] : [...x]);
const isDifferentiable = (t: Tensor) => t.requiresGrad && isFloat(t.dtype);

function validateInputs(op: string, inputs: readonly Tensor[], labels: readonly string[]): number[] {
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new ArgumentError(`${op}: ${labels[i]} is not a Tensor (got ${typeof x})`);
  });
  const diff = inputs.flatMap((x, i) => (x.requiresGrad ? [i] : []));
  for (const i of diff) {
    const x = inputs[i]!;
    if (x.dtype !== 'float64') {
      const has64 = x.backend.capabilities.dtypes.includes('float64');
      throw new DTypeError(
        `${op}: ${labels[i]} (shape ${fmtShape(x.shape)}) requires grad but is ${x.dtype}; finite differences need ` +
          (has64
            ? "float64 inputs — convert with x.to('float64') (or mark it as a constant with requiresGrad false)"
            : `float64, which the '${x.device}' backend lacks — use compareGradients against the reference backend`),
      );
    }
  }
  if (diff.length === 0) throw new ArgumentError(`${op}: no input requires grad, so there is nothing to check`);
  return diff;
}

/** Runs fn with grad mode on and returns its outputs as a list. */
function evaluate(op: string, fn: GradcheckFn, inputs: readonly Tensor[]): Tensor[] {
  const out = enableGrad(() => fn(...inputs));
  const outs = out instanceof Tensor ? [out] : Array.isArray(out) ? [...(out as Tensor[])] : null;
  if (!outs || outs.some((o) => !(o instanceof Tensor)))
    throw new ArgumentError(`${op}: the function must return a Tensor or an array of Tensors`);
  return outs;
}

/** Which outputs take part: float outputs; integer/bool outputs (like indices) are not differentiable. */
function checkOutputs(op: string, outs: readonly Tensor[]): boolean[] {
  return outs.map((o, k) => {
    if (!isFloat(o.dtype)) return false;
    if (o.dtype !== 'float64')
      throw new DTypeError(`${op}: output ${k} (shape ${fmtShape(o.shape)}) is ${o.dtype}; the function must compute in float64`);
    return true;
  });
}

/** Reads every tensor's values (row-major), then disposes the tensors (except the caller's own `keepers`). */
async function readAll(ts: readonly (Tensor | null)[], keepers: ReadonlySet<Tensor> = new Set()): Promise<(Float64Array | null)[]> {
  const data = await Promise.all(ts.map((t) => (t ? t.data() : null)));
  for (const t of ts) if (t && !keepers.has(t)) t.dispose();
  return data.map((d) => (d ? Float64Array.from(d) : null));
}

/** Storage position of every logical element of x, in row-major order. */
function storagePositions(x: Tensor): number[] {
  return Array.from({ length: x.numel() }, (_, j) => unravelIndex(j, x.shape).reduce((o, ix, d) => o + ix * x.strides[d]!, x.offset));
}

/**
 * x + delta·onehot(j) as a new tensor (x itself is never written), requiring grad when x does. When no two
 * elements of x share memory, the copy keeps x's strides and offset over a copy of its whole storage, so functions
 * that depend on the layout (asStrided) see the same layout; overlapping inputs (stride 0) get a contiguous copy,
 * since shifting one shared memory cell would move several elements at once.
 */
function perturbed(x: Tensor, positions: readonly number[] | null, j: number, delta: number): Tensor {
  const layoutKept = positions !== null;
  const size = layoutKept ? x.storage.buffer.size : x.numel();
  const d = new Float64Array(size);
  d[layoutKept ? positions[j]! : j] = delta;
  const step = tensor(d, { shape: layoutKept ? [size] : x.shape, dtype: 'float64', device: x.device });
  const source = layoutKept ? x.withLayout([size], [1], 0) : x.detach();
  const shifted = noGrad(() => source.add(step));
  const y = layoutKept ? shifted.withLayout(x.shape, x.strides, x.offset) : shifted;
  for (const t of [step, source, ...(y === shifted ? [] : [shifted])]) t.dispose();
  return y.requiresGrad_(x.requiresGrad);
}

/** positions when x's elements never share memory, null otherwise. */
function distinctPositions(x: Tensor): number[] | null {
  const pos = storagePositions(x);
  return new Set(pos).size === pos.length ? pos : null;
}

interface Jacobians {
  outShapes: number[][];
  /** analytic[o][k][i] = gradient of output o's element k with respect to diff input i (flat, or null = zero). */
  analytic: (Float64Array | null)[][][];
  gradDtypeIssue?: string;
}

async function analyticJacobian(op: string, fn: GradcheckFn, inputs: readonly Tensor[], diff: readonly number[], labels: readonly string[]): Promise<Jacobians> {
  const diffInputs = diff.map((i) => inputs[i]!);
  let issue: string | undefined;
  const { outs, rows, used } = scope(() => {
    const outs = evaluate(op, fn, inputs);
    const used = checkOutputs(op, outs);
    const rows: (Tensor | null)[][][] = [];
    let last = -1;
    outs.forEach((o, k) => (last = used[k] && o.requiresGrad ? k : last));
    outs.forEach((o, k) => {
      const perOut: (Tensor | null)[][] = [];
      rows.push(perOut);
      if (!used[k]) return;
      for (let e = 0; e < o.numel(); e++) {
        if (!o.requiresGrad) {
          perOut.push(diff.map(() => null));
          continue;
        }
        const onehot = new Float64Array(o.numel());
        onehot[e] = 1;
        const g = tensor(onehot, { shape: o.shape, dtype: 'float64', device: o.device });
        // Keep the graph for the next row; free it after the very last one.
        const retainGraph = !(k === last && e === o.numel() - 1);
        const gs = grad(o, diffInputs, { gradOutputs: g, retainGraph, allowUnused: true });
        gs.forEach((gi, n) => {
          if (gi && gi.dtype !== diffInputs[n]!.dtype && !issue)
            issue = `the gradient of output ${k} with respect to ${labels[diff[n]!]} has dtype ${gi.dtype}, expected ${diffInputs[n]!.dtype}`;
        });
        perOut.push(gs);
      }
    });
    return { outs, rows, used };
  });
  const outShapes = outs.map((o) => [...o.shape]);
  const analytic: (Float64Array | null)[][][] = [];
  // A function may return one of its inputs (or a gradient may be one); those handles belong to the caller.
  const keepers = new Set(inputs);
  for (let k = 0; k < rows.length; k++) analytic.push(used[k] ? await Promise.all(rows[k]!.map((r) => readAll(r, keepers))) : []);
  for (const o of outs) if (!keepers.has(o)) o.dispose();
  return { outShapes, analytic, gradDtypeIssue: issue };
}

/** The values of every float output for inputs with input `i`'s element `j` shifted by delta. */
async function shiftedOutputs(
  op: string,
  fn: GradcheckFn,
  inputs: readonly Tensor[],
  i: number,
  positions: readonly number[] | null,
  j: number,
  delta: number,
): Promise<(Float64Array | null)[]> {
  const outs = scope(() => {
    const xs = inputs.map((x, n) => (n === i ? perturbed(x, positions, j, delta) : x));
    const outs = evaluate(op, fn, xs);
    return outs.map((o) => (isFloat(o.dtype) ? o.detach() : null));
  });
  return readAll(outs);
}

interface CheckContext {
  op: string;
  labels: readonly string[];
}

async function checkJacobian(ctx: CheckContext, fn: GradcheckFn, inputs: readonly Tensor[], opts: GradcheckOptions): Promise<boolean> {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, raiseException = true } = opts;
  const { op, labels } = ctx;
  const diff = validateInputs(op, inputs, labels);
  const fail = (msg: string): boolean => {
    if (raiseException) throw new GradcheckError(msg);
    return false;
  };
  const { outShapes, analytic, gradDtypeIssue } = await analyticJacobian(op, fn, inputs, diff, labels);
  if (gradDtypeIssue) return fail(`${op}: ${gradDtypeIssue}`);

  for (let n = 0; n < diff.length; n++) {
    const i = diff[n]!;
    const x = inputs[i]!;
    let first: string | undefined;
    let bad = 0;
    let total = 0;
    const positions = distinctPositions(x);
    for (let j = 0; j < x.numel(); j++) {
      const plus = await shiftedOutputs(op, fn, inputs, i, positions, j, eps);
      const minus = await shiftedOutputs(op, fn, inputs, i, positions, j, -eps);
      for (let k = 0; k < outShapes.length; k++) {
        if (!plus[k] || !minus[k] || !analytic[k]!.length) continue;
        const size = plus[k]!.length;
        for (let e = 0; e < size; e++) {
          const numeric = (plus[k]![e]! - minus[k]![e]!) / (2 * eps);
          const a = analytic[k]![e]![n]?.[j] ?? 0;
          total++;
          if (close(a, numeric, atol, rtol)) continue;
          bad++;
          first ??=
            `${op}: Jacobian mismatch for output ${k} (shape ${fmtShape(outShapes[k]!)}) with respect to ${labels[i]} ` +
            `(shape ${fmtShape(x.shape)}, strides ${fmtShape(x.strides)}):\n` +
            `  input element ${fmtShape(unravelIndex(j, x.shape))}, output element ${fmtShape(unravelIndex(e, outShapes[k]!))}: ` +
            `analytic ${a}, numeric ${numeric} (|diff| ${Math.abs(a - numeric)} > atol ${atol} + rtol ${rtol}·|numeric|)`;
        }
      }
    }
    if (first) return fail(`${first}\n  ${bad} of ${total} Jacobian entries for ${labels[i]} differ (eps ${eps}).`);
  }
  return true;
}

function close(a: number, n: number, atol: number, rtol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(n)) return Number.isNaN(a) && Number.isNaN(n);
  if (!Number.isFinite(n) || !Number.isFinite(a)) return a === n;
  return Math.abs(a - n) <= atol + rtol * Math.abs(n);
}

/**
 * Checks the gradients of `fn` at `inputs` against central finite differences.
 *
 * Every input that requires grad must be float64 (others are constants and are not perturbed); float outputs must
 * be float64 too, while integer and bool outputs (such as indices) are ignored. Resolves to true when every
 * Jacobian entry satisfies |analytic − numeric| ≤ atol + rtol·|numeric|; otherwise throws a {@link GradcheckError}
 * naming the input, the output, the element multi-indices and both values (or resolves to false with
 * `raiseException: false`).
 *
 * @example
 * const x = randn([3, 4], { dtype: 'float64', requiresGrad: true });
 * await gradcheck((x) => x.tanh().sum(-1), [x]);
 */
export function gradcheck(fn: GradcheckFn, inputs: Tensor | readonly Tensor[], opts: GradcheckOptions = {}): Promise<boolean> {
  const ins = toList(inputs);
  return checkJacobian({ op: 'gradcheck', labels: ins.map((_, i) => `input ${i}`) }, fn, ins, opts);
}

/**
 * The function (inputs, gradOutputs) ↦ grad(fn(inputs), inputs, { gradOutputs, createGraph: true }): its Jacobian
 * holds fn's second derivatives. Gradients of inputs the outputs do not use come back as zeros.
 */
export function gradFunction(fn: GradcheckFn, numInputs: number): GradcheckFn {
  return (...all: Tensor[]) => {
    const xs = all.slice(0, numInputs);
    const gos = all.slice(numInputs);
    const outs = toList(fn(...xs)).filter((o) => isFloat(o.dtype));
    const diffXs = xs.filter((x) => x.requiresGrad);
    const live = outs.flatMap((o, k) => (o.requiresGrad ? [k] : []));
    if (live.length === 0) return diffXs.map((x) => zerosLike(x));
    const gs = grad(
      live.map((k) => outs[k]!),
      diffXs,
      { gradOutputs: live.map((k) => gos[k]!), createGraph: true, allowUnused: true },
    );
    return gs.map((g, n) => g ?? zerosLike(diffXs[n]!));
  };
}

/**
 * Checks second derivatives: runs {@link gradcheck} on (inputs, gradOutputs) ↦ grad(fn(inputs), inputs,
 * { gradOutputs, createGraph: true }). `gradOutputs` (one per float output of fn) default to seeded random float64
 * tensors that require grad; pass your own to pin them, with requiresGrad false to treat them as constants.
 *
 * @example
 * await gradgradcheck((x) => x.pow(3).sum(), [randn([4], { dtype: 'float64', requiresGrad: true })]);
 */
export async function gradgradcheck(
  fn: GradcheckFn,
  inputs: Tensor | readonly Tensor[],
  gradOutputs?: Tensor | readonly Tensor[] | null,
  opts: GradgradcheckOptions = {},
): Promise<boolean> {
  const ins = toList(inputs);
  validateInputs('gradgradcheck', ins, ins.map((_, i) => `input ${i}`));
  const outs = scope(() => evaluate('gradgradcheck', fn, ins).filter((o) => isFloat(o.dtype)).map((o) => o.detach()));
  const shapes = outs.map((o) => ({ shape: o.shape, device: o.device }));
  outs.forEach((o) => o.dispose());
  let gos: Tensor[];
  if (gradOutputs) {
    gos = toList(gradOutputs);
    if (gos.length !== shapes.length)
      throw new ArgumentError(`gradgradcheck: got ${gos.length} gradOutputs for ${shapes.length} float outputs`);
    gos.forEach((g, k) => {
      if (g.shape.join() !== shapes[k]!.shape.join())
        throw new ArgumentError(`gradgradcheck: gradOutputs[${k}] has shape ${fmtShape(g.shape)}, output ${k} has ${fmtShape(shapes[k]!.shape)}`);
    });
  } else {
    const gen = new Generator(opts.seed ?? 0);
    gos = shapes.map((s) => randn(s.shape, { dtype: 'float64', device: s.device, generator: gen, requiresGrad: true }));
  }
  const labels = [...ins.map((_, i) => `input ${i}`), ...gos.map((_, k) => `gradOutputs[${k}]`)];
  return checkJacobian({ op: 'gradgradcheck', labels }, gradFunction(fn, ins.length), [...ins, ...gos], opts);
}
