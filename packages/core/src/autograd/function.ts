/**
 * User-defined differentiable functions (like torch.autograd.Function): a forward that may use any ops (it runs
 * without recording) and a backward that returns one gradient per input. Write the backward with Tessera ops and
 * it is itself differentiable, so gradgradcheck works on it.
 */
import { AutogradError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { noGrad } from './mode.js';
import { attach } from './node.js';

export interface FunctionContext {
  /** Tensors the backward needs (kept alive until the graph is freed). */
  saveForBackward(...tensors: Tensor[]): void;
  readonly saved: readonly Tensor[];
  /** Any other values the backward needs. */
  [key: string]: unknown;
}

export interface FunctionDefinition<A extends Tensor[]> {
  name: string;
  forward(ctx: FunctionContext, ...inputs: A): Tensor;
  backward(ctx: FunctionContext, grad: Tensor): (Tensor | null)[];
}

/** Turns a forward/backward pair into a differentiable function. */
export function customFunction<A extends Tensor[]>(def: FunctionDefinition<A>): (...inputs: A) => Tensor {
  return (...inputs: A) => {
    const saved: Tensor[] = [];
    const ctx: FunctionContext = { saveForBackward: (...ts) => void saved.push(...ts), saved };
    const raw = noGrad(() => def.forward(ctx, ...inputs));
    // Never attach a node to a tensor the caller owns (a forward may return an input unchanged).
    const out = inputs.includes(raw) ? raw.detach() : raw;
    return attach(out, def.name, inputs, (g) => {
      const grads = def.backward(ctx, g);
      if (grads.length !== inputs.length)
        throw new AutogradError(`${def.name}: backward returned ${grads.length} gradients for ${inputs.length} inputs`);
      grads.forEach((gi, i) => {
        if (gi && gi.shape.join() !== inputs[i]!.shape.join())
          throw new AutogradError(`${def.name}: backward gradient ${i} has shape ${fmtShape(gi.shape)}, input has ${fmtShape(inputs[i]!.shape)}`);
      });
      return grads;
    }, saved);
  };
}
