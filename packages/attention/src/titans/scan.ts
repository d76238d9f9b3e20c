/**
 * First-order linear recurrence h_i = a_i ⊙ h_{i−1} + x_i along one dim (spec §12.6), the scan behind Titans' momentum
 * and forgetting (and any gated linear RNN), with an optional initial element h_{−1} and a reverse direction.
 *
 * `linearScan` is one autograd node: its forward runs the recurrence without recording (writing each step into a
 * preallocated output), and its backward is the reverse scan gx_i = g_i + a_{i+1} ⊙ gx_{i+1}, ga_i = Σ gx_i ⊙ h_{i−1},
 * g(h_{−1}) = a_0 ⊙ gx_0 — written with `linearScan` itself and other differentiable ops (recomputing h), so gradients
 * of any order exist. Recording the loop step by step instead would make the backward quadratic in the length: every
 * step's slice would send a full-size gradient back. `linearScanSequential` is that plain loop, kept as the reference.
 */
import { ArgumentError, cat, customFunction, fmtShape, ShapeError, sumTo, zeros, type Tensor } from '@tessera/core';

/** Options of {@link linearScan}. */
export interface LinearScanOptions {
  /** Run from the end: h_i = a_i ⊙ h_{i+1} + x_i, with `initial` as h_n (default false). */
  reverse?: boolean;
}

function check(op: string, a: Tensor, x: Tensor, dim: number, initial: Tensor | null | undefined): number {
  const d = dim < 0 ? dim + x.ndim : dim;
  if (!Number.isInteger(d) || d < 0 || d >= x.ndim) throw new ArgumentError(`${op}: dim ${dim} is out of range for x ${fmtShape(x.shape)}`);
  if (a.ndim !== x.ndim || a.shape[d] !== x.shape[d] || a.shape.some((s, i) => s !== 1 && s !== x.shape[i]))
    throw new ShapeError(`${op}: a ${fmtShape(a.shape)} must have x's rank and length along dim ${d} and broadcast to x ${fmtShape(x.shape)}`);
  if (initial && (initial.ndim !== x.ndim - 1 || initial.shape.some((s, i) => s !== x.shape[i < d ? i : i + 1])))
    throw new ShapeError(`${op}: initial ${fmtShape(initial.shape)} must be x ${fmtShape(x.shape)} without dim ${d}`);
  return d;
}

/**
 * All states h_0 … h_{n−1} of h_i = a_i ⊙ h_{i−1} + x_i along `dim`, with h_{−1} = `initial` (zeros if absent). `a` has
 * x's rank and broadcasts to it (e.g. one gate per chunk against matrix-valued x). Differentiable in a, x and
 * initial, to any order.
 */
export function linearScan(a: Tensor, x: Tensor, dim: number, initial?: Tensor | null, opts: LinearScanOptions = {}): Tensor {
  const d = check('linearScan', a, x, dim, initial);
  if (opts.reverse) return forwardScan(a.flip(d), x.flip(d), d, initial ?? null).flip(d);
  return forwardScan(a, x, d, initial ?? null);
}

function forwardScan(a: Tensor, x: Tensor, d: number, initial: Tensor | null): Tensor {
  const n = x.shape[d]!;
  const fn = customFunction<Tensor[]>({
    name: 'linearScan',
    forward: (_ctx, a, x, init) => {
      const out = zeros(x!.shape, { dtype: x!.dtype, device: x!.device });
      let h: Tensor | null = init ? init.unsqueeze(d) : null;
      for (let i = 0; i < n; i++) {
        const xi = x!.narrow(d, i, 1);
        h = h ? a!.narrow(d, i, 1).mul(h).add(xi) : xi;
        out.narrow(d, i, 1).copy_(h);
      }
      return out;
    },
    backward: (_ctx, g) => {
      // Recomputed with differentiable ops so that the backward itself can be differentiated.
      const h = forwardScan(a, x, d, initial);
      // gx_i = g_i + a_{i+1} gx_{i+1}: a reverse scan whose gates are a shifted by one (the last gate is unused).
      const aNext = n > 1 ? cat([a.narrow(d, 1, n - 1), a.narrow(d, n - 1, 1)], d) : a;
      const gx = forwardScan(aNext.flip(d), g.flip(d), d, null).flip(d);
      const first = initial ? initial.unsqueeze(d) : zeros([...x.shape.slice(0, d), 1, ...x.shape.slice(d + 1)], { dtype: x.dtype, device: x.device });
      const hPrev = n > 1 ? cat([first, h.narrow(d, 0, n - 1)], d) : first;
      const ga = sumTo(gx.mul(hPrev), a.shape);
      const gInit = initial ? gx.narrow(d, 0, 1).mul(a.narrow(d, 0, 1)).squeeze(d) : null;
      return initial ? [ga, gx, gInit] : [ga, gx];
    },
  });
  return initial ? fn(a, x, initial) : fn(a, x);
}

/** The same recurrence as a recorded loop over `dim` (the reference the scan is tested against). */
export function linearScanSequential(a: Tensor, x: Tensor, dim: number, initial?: Tensor | null): Tensor {
  const d = check('linearScanSequential', a, x, dim, initial);
  const n = x.shape[d]!;
  const out: Tensor[] = [];
  let h: Tensor | null = initial ? initial.unsqueeze(d) : null;
  for (let i = 0; i < n; i++) {
    const xi = x.narrow(d, i, 1);
    h = h ? a.narrow(d, i, 1).mul(h).add(xi) : xi;
    out.push(h);
  }
  return out.length === 1 ? out[0]! : cat(out, d);
}
