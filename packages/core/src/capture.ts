/**
 * capture(): record the kernels one call of a function enqueues, then replay them without running its JavaScript
 * again — PyTorch's CUDA graphs for Tessera. A small model's training step spends more time in per-op JavaScript
 * (shape rules, autograd, encoding) than in kernels; a replay skips all of it.
 *
 * The rules are those of any graph capture:
 * - Shapes and control flow are fixed by the capture: every replay does exactly the recorded work.
 * - Tensors from outside are read where they live when the replay runs, so in-place updates are seen (an optimizer's
 *   step, `x.copy_(nextBatch)`); a tensor replaced by another object is not.
 * - Tensors the function creates are static: replay() returns the same output tensors, overwritten, and the
 *   gradients it leaves on `grads` are the same tensors after every replay.
 * - Random draws, host reads and kernels on another backend throw during the capture (a replay could not repeat them).
 *
 * Backends without native capture (the reference and cpu backends, whose per-op cost is small next to their
 * kernels) replay by running the function again and copying into the static tensors, so code using capture() runs
 * everywhere with the same results.
 */
import type { Backend, CapturedWork } from './backend/interface.js';
import { backendByName, getBackend } from './backend/registry.js';
import { noGrad } from './autograd/mode.js';
import { capturingBackend, setCapturing } from './capture-mode.js';
import { ArgumentError, DisposedError, fmtShape, ShapeError } from './errors.js';
import { shapesEqual } from './shape.js';
import { keep, scope, Tensor } from './tensor.js';

export type CaptureResult = Tensor | readonly Tensor[] | void;

export interface CaptureOptions {
  /**
   * Tensors (usually a model's parameters) whose gradients the function computes with backward(). Their `.grad` is
   * cleared before the capture, so the captured backward writes fresh gradients instead of accumulating into tensors
   * from outside; after every replay each gets its captured gradient tensor back, even if zeroGrad() cleared it.
   */
  grads?: Iterable<Tensor>;
  /** The backend whose kernels are recorded (default: the current backend). */
  device?: string;
}

export class CapturedStep<T extends CaptureResult> {
  private disposed = false;
  /**
   * The capture's own handles on the gradient storages (zeroGrad() may dispose the handle a parameter holds), and
   * the handle each parameter was last given.
   */
  private readonly own: (Tensor | null)[];
  private readonly given: (Tensor | null)[];

  /** @internal Use capture(). */
  constructor(
    /** The static outputs: what the captured call returned, overwritten by every replay. */
    readonly outputs: T,
    /** Whether the backend replays recorded kernels (true) or re-runs the function (false). */
    readonly native: boolean,
    private readonly work: CapturedWork | null,
    private readonly run: () => T,
    private readonly params: readonly Tensor[],
    grads: readonly (Tensor | null)[],
  ) {
    this.own = grads.map((g) => g && handle(g));
    this.given = [...grads];
  }

  /** Enqueues the captured step again and returns the static outputs (read them as usual: `await loss.item()`). */
  replay(): T {
    if (this.disposed) throw new DisposedError('capture.replay: this captured step was disposed');
    if (tensorsOf(this.outputs).some((t) => t.isDisposed))
      throw new DisposedError('capture.replay: an output of the captured step was disposed; keep the outputs while replaying');
    if (this.work) this.work.replay();
    else this.rerun();
    // Each parameter gets its gradient back: the same handle, or a new one on the same storage if it was cleared.
    this.params.forEach((p, i) => {
      const own = this.own[i]!;
      if (!own) return;
      const given = this.given[i];
      if (p.grad !== given || !given || given.isDisposed) p.grad = this.given[i] = handle(own);
    });
    return this.outputs;
  }

  /** The fallback: run the function again and copy its results into the static tensors. */
  private rerun(): void {
    const before = this.params.map((p) => p.grad);
    for (const p of this.params) p.grad = null;
    const fresh = tensorsOf(this.run());
    const outs = tensorsOf(this.outputs);
    noGrad(() => {
      outs.forEach((o, i) => copyInto(o, fresh[i]));
      this.params.forEach((p, i) => {
        const [g, target] = [p.grad, this.own[i]];
        if (target && g) {
          copyInto(target, g);
          g.dispose();
        }
        p.grad = before[i]!;
      });
    });
    for (const t of fresh) t.dispose();
  }

  /** Releases the recording (and its reserved buffers) and the static outputs; gradients stay on their parameters. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.work?.dispose();
    for (const t of [...tensorsOf(this.outputs), ...this.own]) t?.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Runs `fn` once (for real) while its backend records the kernels it enqueues, and returns a step whose replay()
 * repeats them. Typical use, a training step whose optimizer runs outside the capture:
 *
 *   const step = capture(() => { const loss = lossOf(x, y); loss.backward(); return loss.detach(); }, { grads: params });
 *   for (…) { x.copy_(batchX); y.copy_(batchY); const loss = step.replay(); optimizer.step(); }
 */
export function capture<T extends CaptureResult>(fn: () => T, opts: CaptureOptions = {}): CapturedStep<T> {
  if (capturingBackend()) throw new ArgumentError('capture: a capture is already running (captures do not nest)');
  const backend: Backend = opts.device !== undefined ? backendByName(opts.device) : getBackend();
  const params = [...(opts.grads ?? [])];
  for (const p of params) p.grad = null;
  const native = !!(backend.beginCapture && backend.endCapture);
  // The function runs in a scope (its temporaries are freed as in an eager step) and in capture mode (the checks).
  const run = (): T => {
    setCapturing(backend);
    try {
      return scope(fn);
    } finally {
      setCapturing(null);
    }
  };
  if (native) backend.beginCapture!();
  let outputs: T;
  try {
    outputs = run();
  } catch (e) {
    if (native) backend.abortCapture?.();
    throw e;
  }
  const work = native ? backend.endCapture!() : null;
  for (const t of tensorsOf(outputs)) {
    if (t.backend !== backend) throw new ArgumentError(`capture: an output lives on '${t.device}', not on the captured '${backend.name}'`);
    if (t.requiresGrad) throw new ArgumentError('capture: outputs must not require grad (return loss.detach(): the graph is gone after the step)');
  }
  keep(tensorsOf(outputs));
  const grads = params.map((p) => p.grad);
  return new CapturedStep(outputs, native, work, run, params, grads);
}

/** Another handle on t's storage, outside every scope. */
function handle(t: Tensor): Tensor {
  return keep(t.withLayout(t.shape, t.strides, t.offset));
}

function tensorsOf(r: CaptureResult): Tensor[] {
  if (r === undefined) return [];
  if (r instanceof Tensor) return [r];
  if (Array.isArray(r) && r.every((t) => t instanceof Tensor)) return [...r];
  throw new ArgumentError('capture: the captured function must return a tensor, an array of tensors or nothing');
}

function copyInto(target: Tensor, fresh: Tensor | undefined): void {
  if (!fresh || !shapesEqual(target.shape, fresh.shape) || target.dtype !== fresh.dtype)
    throw new ShapeError(
      `capture.replay: the function returned ${fresh ? `${fmtShape(fresh.shape)} ${fresh.dtype}` : 'nothing'} where the capture returned ${fmtShape(target.shape)} ${target.dtype}; a captured step must do the same work every time`,
    );
  target.copy_(fresh);
}
