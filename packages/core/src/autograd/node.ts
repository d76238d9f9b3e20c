/**
 * Autograd graph nodes. Every differentiable op records one Node for its output: the op's name, its inputs, and a
 * vector-Jacobian product written with differentiable ops (so running it with grad mode on builds the graph of the
 * gradient — that is all higher-order gradients need).
 */
import { AutogradError } from '../errors.js';
import type { GradHook, Tensor } from '../tensor.js';
import { isGradEnabled } from './mode.js';

/** Given the gradient of the output, returns one gradient (or null) per input, each of the input's shape. */
export type VJP = (grad: Tensor) => (Tensor | null | undefined)[];

export class Node {
  /** Hooks on the output tensor's gradient (registered through tensor.registerHook on a non-leaf). */
  hooks: GradHook[] = [];
  /** Storage versions of the inputs when the op ran; a later in-place write makes backward unsafe. */
  private readonly versions: number[];
  private freed = false;
  /**
   * Who can still reach this node: its output tensor's handle plus every unfreed node that reads the output. At 0
   * no backward can get here, so the saved values are released now instead of waiting for the GC (a forward pass
   * recorded inside scope() but never differentiated).
   */
  private refs = 1;

  constructor(
    readonly name: string,
    public inputs: Tensor[],
    private vjpFn: VJP | null,
    /** Saved tensors (beyond inputs) whose storage the VJP reads, e.g. the output. */
    private saved: Tensor[],
  ) {
    this.versions = inputs.map((t) => t.storage.version);
    for (const t of [...inputs, ...saved]) t.storage.retain();
    for (const t of inputs) t.gradFn?.ref();
  }

  ref(): void {
    this.refs++;
  }
  /** Drops one reference (the output handle was disposed, or a consumer node was freed). */
  unref(): void {
    if (--this.refs === 0) this.free();
  }

  /** Runs the VJP, checking that the graph was not freed and the inputs were not modified in place. */
  apply(grad: Tensor): (Tensor | null | undefined)[] {
    if (this.freed || !this.vjpFn)
      throw new AutogradError(
        `${this.name}: trying to backward through the graph a second time (its saved values were freed after the ` +
          'first backward). Pass { retainGraph: true } to the first backward or grad call if you need to.',
      );
    this.inputs.forEach((t, i) => {
      if (t.storage.version !== this.versions[i])
        throw new AutogradError(
          `${this.name}: an input of this op (shape [${t.shape.join(', ')}], ${t.dtype}) was modified in place after ` +
            'the op ran, so its gradient would be wrong. Clone the tensor before modifying it.',
        );
    });
    return this.vjpFn(grad);
  }

  /** Drops saved values (after a backward without retainGraph), then any producer nodes nobody can reach now. */
  free(): void {
    // A worklist, not recursion: freeing the end of a long chain releases the whole chain.
    const work: Node[] = [this];
    for (let node = work.pop(); node; node = work.pop()) {
      if (node.freed) continue;
      node.freed = true;
      for (const t of [...node.inputs, ...node.saved]) t.storage.release();
      for (const t of node.inputs) if (t.gradFn && --t.gradFn.refs === 0) work.push(t.gradFn);
      node.vjpFn = null;
      node.saved = [];
    }
  }
  get isFreed(): boolean {
    return this.freed;
  }
}

/**
 * Records `name` as the producer of `out` when grad mode is on and an input requires grad. Returns `out`.
 * `saved` lists tensors other than the inputs that the VJP reads (typically `out` itself).
 */
export function attach(out: Tensor, name: string, inputs: Tensor[], vjp: VJP, saved: Tensor[] = []): Tensor {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.gradFn = new Node(name, inputs, vjp, saved);
  return out;
}
