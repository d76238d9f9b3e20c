/**
 * The backward pass. Nodes reachable from the outputs are put in topological order once (iteratively, so graphs
 * thousands of ops deep are fine), then each node's VJP runs exactly once with the sum of the gradients flowing
 * into it — linear time even on diamond-shaped graphs.
 */
import { AutogradError, fmtShape } from '../errors.js';
import { shapesEqual } from '../shape.js';
import { duringBackward, keep, type Tensor } from '../tensor.js';
import { enableGrad, noGrad } from './mode.js';
import type { Node } from './node.js';

export interface BackwardOptions {
  /** Keep saved values so the graph can be differentiated again (default false). */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients (default false; implies retainGraph). */
  createGraph?: boolean;
}

export interface GradOptions extends BackwardOptions {
  /** Gradients of the outputs; required for non-scalar outputs. */
  gradOutputs?: (Tensor | null)[] | Tensor;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/** Nodes reachable from the roots, outputs first (reverse post-order of an iterative DFS). */
function topoOrder(roots: Node[]): Node[] {
  const visited = new Set<Node>();
  const post: Node[] = [];
  const stack: [Node, number][] = [];
  for (const r of roots) {
    if (visited.has(r)) continue;
    visited.add(r);
    stack.push([r, 0]);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [node, i] = top;
      if (i < node.inputs.length) {
        top[1]++;
        const child = node.inputs[i]!.gradFn;
        if (child && !visited.has(child)) {
          visited.add(child);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        post.push(node);
      }
    }
  }
  return post.reverse();
}

function checkGradShape(what: string, t: Tensor, g: Tensor): void {
  if (!shapesEqual(t.shape, g.shape))
    throw new AutogradError(`${what}: gradient has shape ${fmtShape(g.shape)} but the tensor has shape ${fmtShape(t.shape)}`);
}

/** Default gradient for an output: ones for a scalar, an error otherwise. */
function seed(out: Tensor, given: Tensor | null | undefined, what: string): Tensor {
  if (given) {
    checkGradShape(what, out, given);
    return given;
  }
  if (out.numel() !== 1)
    throw new AutogradError(
      `${what}: gradient can be implicitly created only for scalar outputs; the output has shape ${fmtShape(out.shape)}. ` +
        'Pass a gradient of that shape.',
    );
  return out.onesLike();
}

const runHooks = (hooks: readonly ((g: Tensor) => Tensor | void)[], g: Tensor) => hooks.reduce((acc, h) => h(acc) ?? acc, g);

/**
 * Core of backward() and grad(). Accumulates into leaves' .grad, or (when `capture` is given) returns the
 * gradients of exactly those tensors without touching .grad.
 */
function run(outputs: Tensor[], grads: Tensor[], opts: BackwardOptions, capture?: Tensor[]): Map<Tensor, Tensor> {
  const createGraph = opts.createGraph ?? false;
  const retain = opts.retainGraph ?? createGraph;
  const captured = new Map<Tensor, Tensor>();
  const captureByNode = new Map<Node, Tensor[]>();
  for (const t of capture ?? []) if (t.gradFn) captureByNode.set(t.gradFn, [...(captureByNode.get(t.gradFn) ?? []), t]);
  const captureSet = new Set(capture ?? []);

  const nodeGrads = new Map<Node, Tensor>();
  const leafGrads = new Map<Tensor, Tensor>();
  const add = <K>(m: Map<K, Tensor>, k: K, g: Tensor) => {
    const prev = m.get(k);
    m.set(k, prev ? prev.add(g) : g);
  };
  const order = topoOrder(outputs.flatMap((o) => (o.gradFn ? [o.gradFn] : [])));
  // Whether any hook saw a gradient: a hook may keep the tensor it was given, so no leaf may take it over.
  let hooked = false;
  const taken = new Set<Tensor>();

  const body = () => {
    outputs.forEach((o, i) => (o.gradFn ? add(nodeGrads, o.gradFn, grads[i]!) : add(leafGrads, o, grads[i]!)));
    for (const node of order) {
      let g = nodeGrads.get(node);
      if (!g) continue;
      nodeGrads.delete(node);
      if (node.hooks.length) hooked = true;
      g = runHooks(node.hooks, g);
      for (const t of captureByNode.get(node) ?? []) captured.set(t, g);
      const inGrads = node.apply(g);
      node.inputs.forEach((inp, i) => {
        const gi = inGrads[i];
        if (!gi || !inp.requiresGrad) return;
        checkGradShape(`${node.name} backward`, inp, gi);
        if (inp.gradFn) add(nodeGrads, inp.gradFn, gi);
        else add(leafGrads, inp, gi);
      });
    }
    for (const leaf of leafGrads.keys()) if (leaf.leafHooks.length) hooked = true;
    for (const [leaf, g0] of leafGrads) {
      const g = runHooks(leaf.leafHooks, g0);
      if (capture) {
        if (captureSet.has(leaf)) captured.set(leaf, g);
        continue;
      }
      const own = !hooked && !grads.includes(g) && !taken.has(g) && ownable(leaf, g);
      if (own) taken.add(g);
      accumulate(leaf, g, createGraph, own);
    }
  };
  try {
    if (createGraph) enableGrad(() => duringBackward(body));
    else noGrad(() => duringBackward(body));
  } finally {
    if (!retain) for (const node of order) node.free();
  }
  return captured;
}

/**
 * Whether a gradient computed during this backward can become leaf.grad as it is: a dense tensor of the leaf's
 * dtype whose storage no other handle (view, autograd save) shares. The caller also rules out tensors the user
 * may hold (given gradients, anything a hook saw) and tensors handed to several leaves.
 */
function ownable(leaf: Tensor, g: Tensor): boolean {
  return !g.requiresGrad && g.dtype === leaf.dtype && g.offset === 0 && g.storage.handles === 1 && g.isContiguous();
}

/**
 * Adds g into leaf.grad. Without createGraph the first gradient is cloned (a VJP may hand the same tensor to
 * several inputs), unless `own` says nothing else can reach it, and later ones are added in place, so .grad is
 * owned by its leaf and memory stays flat.
 */
function accumulate(leaf: Tensor, g: Tensor, createGraph: boolean, own: boolean): void {
  if (createGraph) leaf.grad = leaf.grad ? leaf.grad.add(g) : g;
  else if (!leaf.grad) leaf.grad = own ? g : g.detach().clone();
  else if (leaf.grad.requiresGrad) leaf.grad = leaf.grad.detach().add(g);
  else leaf.grad.add_(g);
  // A gradient belongs to its leaf, not to the scope() that happened to run backward.
  keep(leaf.grad);
}

/** Accumulates d(output)/d(leaf) into every leaf's .grad (Tensor.backward). */
export function backward(output: Tensor, grad?: Tensor | null, opts: BackwardOptions = {}): void {
  if (!output.requiresGrad)
    throw new AutogradError(
      `backward: the tensor (shape ${fmtShape(output.shape)}) does not require grad and has no gradFn; ` +
        'did you create the inputs with requiresGrad: true, or compute it inside noGrad?',
    );
  run([output], [seed(output, grad, 'backward')], opts);
}

/**
 * Gradients of outputs with respect to inputs (torch.autograd.grad). Leaves' .grad is left untouched.
 * With createGraph the results are themselves differentiable.
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const given = opts.gradOutputs === undefined ? [] : Array.isArray(opts.gradOutputs) ? opts.gradOutputs : [opts.gradOutputs];
  if (given.length && given.length !== outs.length)
    throw new AutogradError(`grad: got ${given.length} gradOutputs for ${outs.length} outputs`);
  ins.forEach((t, i) => {
    if (!t.requiresGrad) throw new AutogradError(`grad: input ${i} (shape ${fmtShape(t.shape)}) does not require grad`);
  });
  outs.forEach((o, i) => {
    if (!o.requiresGrad) throw new AutogradError(`grad: output ${i} (shape ${fmtShape(o.shape)}) does not require grad and has no gradFn`);
  });
  const seeds = outs.map((o, i) => seed(o, given[i], `grad (output ${i})`));
  const captured = run(outs, seeds, opts, ins);
  return ins.map((t, i) => {
    const g = captured.get(t);
    if (!g && !opts.allowUnused)
      throw new AutogradError(
        `grad: input ${i} (shape ${fmtShape(t.shape)}) was not used to compute the outputs; pass allowUnused: true to get null`,
      );
    return g ?? null;
  });
}

/** fn's value and its gradient with respect to each argument (the value must be a scalar). */
export function valueAndGrad<A extends Tensor[]>(fn: (...args: A) => Tensor, opts: BackwardOptions = {}) {
  return (...args: A): { value: Tensor; grads: Tensor[] } => {
    const inputs = args.map((a) => (a.requiresGrad ? a : a.detach().requiresGrad_())) as A;
    const value = enableGrad(() => fn(...inputs));
    const grads = grad(value, inputs, { ...opts, allowUnused: true }).map((g, i) => g ?? inputs[i]!.zerosLike());
    return { value: opts.createGraph ? value : value.detach(), grads };
  };
}

/** The vector-Jacobian product of fn at the primals with cotangent v: returns fn's output and vᵀ·J per input. */
export function vjp<A extends Tensor[]>(fn: (...args: A) => Tensor, primals: A, v: Tensor, opts: BackwardOptions = {}) {
  const inputs = primals.map((a) => (a.requiresGrad ? a : a.detach().requiresGrad_())) as A;
  const out = enableGrad(() => fn(...inputs));
  const grads = grad(out, inputs, { ...opts, gradOutputs: v, allowUnused: true }).map((g, i) => g ?? inputs[i]!.zerosLike());
  return { output: opts.createGraph ? out : out.detach(), grads };
}
