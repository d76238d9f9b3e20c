/**
 * Gradient checks for backends without float64 (WebGPU): finite differences are too noisy in float32, so instead
 * the backend's outputs and vector-Jacobian products are compared with the same function run on a float64
 * reference backend, at float32 tolerances.
 */
import { grad } from '../autograd/engine.js';
import { enableGrad } from '../autograd/mode.js';
import { isFloat } from '../dtype.js';
import { ArgumentError, fmtShape } from '../errors.js';
import { tensor } from '../ops/creation.js';
import { hash32 } from '../random.js';
import { scope, Tensor } from '../tensor.js';
import { GradcheckError, gradFunction, unravelIndex, type GradcheckFn } from './gradcheck.js';
import '../ops/methods.js';

/** Options of {@link compareGradients}. */
export interface CompareGradientsOptions {
  /** The float64 backend used as the oracle (default 'reference'). */
  reference?: string;
  /** Absolute tolerance (default 1e-4). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /** 1 compares outputs and first gradients; 2 also compares gradients of gradients (default 1). */
  order?: 1 | 2;
  /** Seed of the cotangents used for the vector-Jacobian products (default 0). */
  seed?: number;
  /** Throw a {@link GradcheckError} on a mismatch (default true); with false, resolve to false instead. */
  raiseException?: boolean;
}

/** Deterministic cotangent values in [-1, 1), exactly representable in float32 so both sides see the same numbers. */
function cotangentValues(n: number, seed: number, salt: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(hash32(hash32(seed ^ (salt * 0x9e3779b9)) ^ i) / 2 ** 31 - 1);
  return out;
}

/** A copy of x on `device`: float inputs in `floatDtype`, others keep their dtype; requiresGrad is kept. */
async function copyTo(x: Tensor, device: string, floatDtype: 'float32' | 'float64'): Promise<Tensor> {
  const dtype = isFloat(x.dtype) ? floatDtype : x.dtype;
  const t = tensor(await x.data(), { shape: x.shape, dtype, device });
  return x.requiresGrad ? t.requiresGrad_() : t;
}

interface Result {
  /** Values of every output, then of every gradient (null = not used, treated as zero). */
  values: (Float64Array | null)[];
  shapes: number[][];
  names: string[];
}

/** Outputs of fn plus vᵀJ for each input that requires grad, with seeded cotangents v. */
async function outputsAndVjps(fn: GradcheckFn, inputs: readonly Tensor[], seed: number): Promise<Result> {
  const diff = inputs.filter((x) => x.requiresGrad);
  const ts = scope(() => {
    const raw = enableGrad(() => fn(...inputs));
    const outs = raw instanceof Tensor ? [raw] : [...raw];
    const live = outs.filter((o) => isFloat(o.dtype) && o.requiresGrad);
    const vs = live.map((o, k) => tensor(cotangentValues(o.numel(), seed, k), { shape: o.shape, dtype: o.dtype, device: o.device }));
    const gs = live.length && diff.length ? grad(live, diff, { gradOutputs: vs, allowUnused: true }) : diff.map(() => null);
    return [...outs.map((o) => o.detach()), ...gs.map((g) => g?.detach() ?? null)];
  });
  const values = await Promise.all(ts.map(async (t) => (t ? Float64Array.from(await t.data()) : null)));
  const nOut = ts.length - diff.length;
  const names = ts.map((_, i) => (i < nOut ? `output ${i}` : `gradient of input ${inputs.indexOf(diff[i - nOut]!)}`));
  const shapes = ts.map((t, i) => (t ? [...t.shape] : [...diff[i - nOut]!.shape]));
  for (const t of ts) t?.dispose();
  return { values, shapes, names };
}

/**
 * Runs `fn` on `inputs` (on any backend, typically float32) and on float64 copies of them on the reference backend,
 * and compares the outputs and the vector-Jacobian products for seeded cotangents — and, with `order: 2`, the
 * gradients of those gradients. Each entry must satisfy |value − reference| ≤ atol + rtol·|reference|.
 * Throws a {@link GradcheckError} naming the output or gradient and the element on a mismatch.
 *
 * @example
 * setBackend('webgpu');
 * const x = randn([3, 4], { requiresGrad: true });
 * await compareGradients((x) => x.softmax(-1), [x], { order: 2 });
 */
export async function compareGradients(fn: GradcheckFn, inputs: Tensor | readonly Tensor[], opts: CompareGradientsOptions = {}): Promise<boolean> {
  const { reference = 'reference', atol = 1e-4, rtol = 1e-3, order = 1, seed = 0, raiseException = true } = opts;
  const ins = inputs instanceof Tensor ? [inputs] : [...inputs];
  if (!ins.some((x) => x.requiresGrad)) throw new ArgumentError('compareGradients: no input requires grad, so there is nothing to compare');
  const refIns = await Promise.all(ins.map((x) => copyTo(x, reference, 'float64')));
  const got = await outputsAndVjps(fn, ins, seed);
  const want = await outputsAndVjps(fn, refIns, seed);
  const fail = (msg: string) => {
    if (raiseException) throw new GradcheckError(msg);
    return false;
  };
  for (let t = 0; t < want.values.length; t++) {
    const [a, e] = [got.values[t], want.values[t]];
    if (got.shapes[t]!.join() !== want.shapes[t]!.join())
      return fail(`compareGradients: ${want.names[t]} has shape ${fmtShape(got.shapes[t]!)}, the reference has ${fmtShape(want.shapes[t]!)}`);
    const n = (a ?? e)?.length ?? 0;
    for (let i = 0; i < n; i++) {
      const [x, y] = [a?.[i] ?? 0, e?.[i] ?? 0];
      const ok = Number.isNaN(y) ? Number.isNaN(x) : Number.isFinite(y) ? Math.abs(x - y) <= atol + rtol * Math.abs(y) : x === y;
      if (!ok)
        return fail(
          `compareGradients: ${want.names[t]} (shape ${fmtShape(want.shapes[t]!)}) differs from the '${reference}' float64 result ` +
            `at element ${fmtShape(unravelIndex(i, want.shapes[t]!))}: got ${x}, expected ${y} (atol ${atol}, rtol ${rtol})`,
        );
    }
  }
  if (order === 2) {
    // Second order: compare the gradient function itself, with cotangents as extra inputs that require grad.
    const outs = scope(() => {
      const raw = enableGrad(() => fn(...ins));
      return (raw instanceof Tensor ? [raw] : [...raw]).filter((o) => isFloat(o.dtype)).map((o) => o.detach());
    });
    const gos = outs.map((o, k) =>
      tensor(cotangentValues(o.numel(), seed + 1, k), { shape: o.shape, dtype: o.dtype, device: o.device }).requiresGrad_(),
    );
    outs.forEach((o) => o.dispose());
    return compareGradients(gradFunction(fn, ins.length), [...ins, ...gos], { ...opts, order: 1, seed: seed + 2 });
  }
  return true;
}
