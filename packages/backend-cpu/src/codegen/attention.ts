/**
 * Fused scaled-dot-product attention kernels (forward and backward) that never hold the L×S score matrix.
 *
 * Forward: one work item per query row (flat over B·H·L). The row's output doubles as the accumulator of an
 * online softmax over the keys: a running max m and sum l; when a score raises m, the accumulator and l are
 * rescaled by e^(m_old − m). Causal rows stop at their last allowed key (top-left: key j ≤ row i). Rows with no
 * allowed key stay 0. Memory per row: O(Dv).
 *
 * Backward: one work item per (b, h) pair, so dK/dV accumulate without races. Per query row: pass 1 recomputes
 * m and l over the keys; then per key p = e^(s − m)/l, dp = dO·v, ds = p(dp − dO·O), dq += scale·ds·k,
 * dk += scale·ds·q, dv += p·dO. Fully masked rows (l = 0) are skipped, so they produce zero gradients, not NaN.
 *
 * These are the float64 kernels (f64x2 over the head dim, the host's exp, like the reference's composition); float32
 * runs the register-blocked kernels of attention-f32.ts and attention-f32-backward.ts.
 *
 * Descriptor (i32 words): H, L, S, D, Dv, scale (f64, two words), then per tensor `[addr, bStride, hStride,
 * rowStride]` in bytes (rows are contiguous): q, k, v, mask (plus its key stride), out, and for the backward
 * gradOut, dq, dk, dv.
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import type { PlainOp } from '../wasm/opcodes.js';
import { loopBy } from './nest.js';

export interface AttentionSpec {
  causal: boolean;
  mask: boolean;
  backward: boolean;
}

/** Word offsets of the descriptor's tensors. */
export const ATTN = { Q: 7, K: 11, V: 15, M: 19, O: 24, GO: 28, DQ: 32, DK: 36, DV: 40, WORDS: 44 } as const;

interface T4 {
  addr: Local;
  sb: Local;
  sh: Local;
  sl: Local;
}

/** float64 emission helpers. */
class Gen {
  readonly T = 'f64';
  readonly E = 8;
  readonly W = 2;
  constructor(
    readonly m: KernelModule,
    readonly f: Fn,
  ) {}
  /** A vector op name, e.g. vop('add') → 'f64x2.add'. */
  vop(name: string): PlainOp {
    return `f64x2.${name}` as PlainOp;
  }
  sop(name: string): PlainOp {
    return `${this.T}.${name}` as PlainOp;
  }
  i32(): Local {
    return this.f.local('i32');
  }
  scalar(): Local {
    return this.f.local(this.T);
  }
  /** p += n (i32 locals or constant). */
  bump(p: Local, n: Local | number): void {
    const f = this.f;
    f.get(p);
    if (typeof n === 'number') f.i32(n);
    else f.get(n);
    f.op('i32.add').set(p);
  }

  /** Σ a[e]·b[e] over n contiguous elements. */
  dot(a: Local, b: Local, n: Local): Local {
    const { f, W, E } = this;
    const [pa, pb, c] = [this.i32(), this.i32(), this.i32()];
    const [acc0, acc1] = [f.local('v128'), f.local('v128')];
    f.get(a).set(pa);
    f.get(b).set(pb);
    f.get(n).set(c);
    f.f64x2(0).set(acc0);
    f.f64x2(0).set(acc1);
    loopBy(f, c, 2 * W, () => {
      f.get(acc0).get(pa).mem('v128.load').get(pb).mem('v128.load').op(this.vop('mul'), this.vop('add')).set(acc0);
      f.get(acc1).get(pa).mem('v128.load', 16).get(pb).mem('v128.load', 16).op(this.vop('mul'), this.vop('add')).set(acc1);
      this.bump(pa, 32);
      this.bump(pb, 32);
    });
    loopBy(f, c, W, () => {
      f.get(acc0).get(pa).mem('v128.load').get(pb).mem('v128.load').op(this.vop('mul'), this.vop('add')).set(acc0);
      this.bump(pa, 16);
      this.bump(pb, 16);
    });
    f.get(acc0, acc1).op(this.vop('add')).set(acc0);
    const s = this.scalar();
    f.get(acc0).lane('f64x2.extract_lane', 0);
    for (let l = 1; l < W; l++) f.get(acc0).lane('f64x2.extract_lane', l).op(this.sop('add'));
    f.set(s);
    loopBy(f, c, 1, () => {
      f.get(s).get(pa).mem(`${this.T}.load`).get(pb).mem(`${this.T}.load`).op(this.sop('mul'), this.sop('add')).set(s);
      this.bump(pa, E);
      this.bump(pb, E);
    });
    return s;
  }

  /** dst[e] = dst[e]·beta + alpha·src[e] over n contiguous elements (beta omitted: 1; src omitted: no term). */
  update(dst: Local, n: Local, alpha: Local | null, src: Local | null, beta: Local | null): void {
    const { f, W, E } = this;
    const [pd, ps, c] = [this.i32(), this.i32(), this.i32()];
    const [av, bv] = [f.local('v128'), f.local('v128')];
    f.get(dst).set(pd);
    if (src) f.get(src).set(ps);
    f.get(n).set(c);
    if (alpha) f.get(alpha).op(this.vop('splat')).set(av);
    if (beta) f.get(beta).op(this.vop('splat')).set(bv);
    const body = (load: 'v128.load' | 'f64.load', store: 'v128.store' | 'f64.store', vec: boolean, step: number) => {
      const op = (name: string) => (vec ? this.vop(name) : this.sop(name));
      f.get(pd).get(pd).mem(load);
      if (beta) f.get(vec ? bv : beta).op(op('mul'));
      if (src && alpha) f.get(ps).mem(load).get(vec ? av : alpha).op(op('mul'), op('add'));
      f.mem(store);
      this.bump(pd, step);
      if (src) this.bump(ps, step);
    };
    loopBy(f, c, W, () => body('v128.load', 'v128.store', true, 16));
    loopBy(f, c, 1, () => body(`${this.T}.load`, `${this.T}.store`, false, E));
  }

  /** e^x of a scalar. */
  exp(x: Local): Local {
    const out = this.scalar();
    this.f.get(x).call(this.m.host('exp')).set(out);
    return out;
  }

  /** Zeroes `rows` rows of `n` elements, `stride` bytes apart. */
  zeroRows(addr: Local, rows: Local, stride: Local, n: Local): void {
    const { f } = this;
    const [p, c] = [this.i32(), this.i32()];
    f.get(addr).set(p);
    f.get(rows).set(c);
    loopBy(f, c, 1, () => {
      f.get(p).i32(0).get(n).i32(this.E).op('i32.mul').memoryFill();
      this.bump(p, stride);
    });
  }
}

export function buildAttention(m: KernelModule, spec: AttentionSpec): void {
  const g = new Gen(m, m.func(['i32', 'i32', 'i32', 'i32'], [], 'run'));
  const { f, T } = g;
  const [desc, lo, hi] = f.params as [Local, Local, Local];
  const word = (w: number) => {
    const l = g.i32();
    f.get(desc).mem('i32.load', 4 * w).set(l);
    return l;
  };
  const t4 = (w: number): T4 => ({ addr: word(w), sb: word(w + 1), sh: word(w + 2), sl: word(w + 3) });
  const [H, L, S, D, Dv] = [0, 1, 2, 3, 4].map(word) as [Local, Local, Local, Local, Local];
  const scale = g.scalar();
  f.get(desc).mem('f64.load', 4 * 5).set(scale);
  const [q, k, v, mk, o] = [t4(ATTN.Q), t4(ATTN.K), t4(ATTN.V), t4(ATTN.M), t4(ATTN.O)];
  const mj = word(ATTN.M + 4);
  const [go, dq, dk, dv] = spec.backward ? [t4(ATTN.GO), t4(ATTN.DQ), t4(ATTN.DK), t4(ATTN.DV)] : [];
  f.beginHoisting();

  /** t's address at (b, h, row). */
  const at = (t: T4, b: Local, h: Local, row: Local | null): Local => {
    const p = g.i32();
    f.get(t.addr).get(b, t.sb).op('i32.mul', 'i32.add').get(h, t.sh).op('i32.mul', 'i32.add');
    if (row) f.get(row, t.sl).op('i32.mul', 'i32.add');
    f.set(p);
    return p;
  };
  const [b, h, i, j, n] = [g.i32(), g.i32(), g.i32(), g.i32(), g.i32()];
  const [kp, vp, mp] = [g.i32(), g.i32(), g.i32()];
  const negInf = () => f.f64(-Infinity);
  const zero = () => f.f64(0);

  /** Keys allowed for row i: all S, or min(S, i + 1) when causal. */
  const setKeyCount = () => {
    if (!spec.causal) return void f.get(S).set(n);
    f.get(i).i32(1).op('i32.add').get(S).get(i).i32(1).op('i32.add').get(S).op('i32.lt_u', 'select').set(n);
  };
  /** Visits the allowed keys with kp, vp (and mp) on key j; `body` gets the scaled, masked score. */
  const eachKey = (qp: Local, mrow: Local, kBase: Local, vBase: Local, body: (s: Local) => void) => {
    f.i32(0).set(j);
    f.get(kBase).set(kp);
    f.get(vBase).set(vp);
    f.get(mrow).set(mp);
    f.block((exit) =>
      f.loop((next) => {
        f.get(j, n).op('i32.ge_u').brIf(exit);
        const s = g.dot(qp, kp, D);
        f.get(s, scale).op(g.sop('mul'));
        if (spec.mask) f.get(mp).mem(`${T}.load`).op(g.sop('add'));
        f.set(s);
        body(s);
        g.bump(j, 1);
        g.bump(kp, k.sl);
        g.bump(vp, v.sl);
        if (spec.mask) g.bump(mp, mj);
        f.br(next);
      }),
    );
  };
  /** Decomposes a pair index into (b, h). */
  const pairOf = (bh: Local) => {
    f.get(bh, H).op('i32.rem_u').set(h);
    f.get(bh, H).op('i32.div_u').set(b);
  };
  const [mx, l] = [g.scalar(), g.scalar()];
  /** When s > m: alpha = e^(m − s) (0 while m = −inf), m = s; returns alpha's local (valid inside `then`). */
  const raiseMax = (s: Local, then: (alpha: Local) => void) => {
    f.get(s, mx).op(g.sop('gt'));
    f.if(() => {
      const d = g.scalar();
      f.get(mx, s).op(g.sop('sub')).set(d);
      const e = g.exp(d);
      const alpha = g.scalar();
      zero();
      f.get(e);
      f.get(mx);
      negInf();
      f.op(g.sop('eq'), 'select').set(alpha);
      then(alpha);
      f.get(s).set(mx);
    });
  };
  const ifFinite = (s: Local, body: () => void) => {
    f.get(s);
    negInf();
    f.op(g.sop('gt'));
    f.if(body);
  };
  const r = g.i32();
  f.get(lo).set(r);
  f.block((done) =>
    f.loop((nextItem) => {
      f.get(r, hi).op('i32.ge_u').brIf(done);
      if (!spec.backward) {
        // Item r = (b·H + h)·L + i.
        const bh = g.i32();
        f.get(r, L).op('i32.rem_u').set(i);
        f.get(r, L).op('i32.div_u').set(bh);
        pairOf(bh);
        const [qp, op, mrow, kBase, vBase] = [at(q, b, h, i), at(o, b, h, i), at(mk, b, h, i), at(k, b, h, null), at(v, b, h, null)];
        setKeyCount();
        f.get(op).i32(0).get(Dv).i32(g.E).op('i32.mul').memoryFill();
        negInf();
        f.set(mx);
        zero();
        f.set(l);
        eachKey(qp, mrow, kBase, vBase, (s) => {
          raiseMax(s, (alpha) => {
            g.update(op, Dv, null, null, alpha);
            f.get(l, alpha).op(g.sop('mul')).set(l);
          });
          ifFinite(s, () => {
            const d = g.scalar();
            f.get(s, mx).op(g.sop('sub')).set(d);
            const p = g.exp(d);
            f.get(l, p).op(g.sop('add')).set(l);
            g.update(op, Dv, p, vp, null);
          });
        });
        f.get(l);
        zero();
        f.op(g.sop('gt'));
        f.if(() => {
          const rl = g.scalar();
          f.f64(1).get(l).op(g.sop('div')).set(rl);
          g.update(op, Dv, null, null, rl);
        });
      } else {
        pairOf(r);
        const [kBase, vBase, dkBase, dvBase] = [at(k, b, h, null), at(v, b, h, null), at(dk!, b, h, null), at(dv!, b, h, null)];
        g.zeroRows(dkBase, S, dk!.sl, D);
        g.zeroRows(dvBase, S, dv!.sl, Dv);
        f.i32(0).set(i);
        f.block((rowsDone) =>
          f.loop((nextRow) => {
            f.get(i, L).op('i32.ge_u').brIf(rowsDone);
            const [qp, op, gp, dqp, mrow] = [at(q, b, h, i), at(o, b, h, i), at(go!, b, h, i), at(dq!, b, h, i), at(mk, b, h, i)];
            setKeyCount();
            f.get(dqp).i32(0).get(D).i32(g.E).op('i32.mul').memoryFill();
            negInf();
            f.set(mx);
            zero();
            f.set(l);
            // Pass 1: the row's max and sum.
            eachKey(qp, mrow, kBase, vBase, (s) => {
              raiseMax(s, (alpha) => f.get(l, alpha).op(g.sop('mul')).set(l));
              ifFinite(s, () => {
                const d = g.scalar();
                f.get(s, mx).op(g.sop('sub')).set(d);
                f.get(l).get(g.exp(d)).op(g.sop('add')).set(l);
              });
            });
            f.get(l);
            zero();
            f.op(g.sop('gt'));
            f.if(() => {
              const di = g.dot(gp, op, Dv);
              const rl = g.scalar();
              f.f64(1).get(l).op(g.sop('div')).set(rl);
              const [dkp, dvp] = [g.i32(), g.i32()];
              f.get(dkBase).set(dkp);
              f.get(dvBase).set(dvp);
              // Pass 2: gradients.
              eachKey(qp, mrow, kBase, vBase, (s) => {
                ifFinite(s, () => {
                  const d = g.scalar();
                  f.get(s, mx).op(g.sop('sub')).set(d);
                  const p = g.scalar();
                  f.get(g.exp(d), rl).op(g.sop('mul')).set(p);
                  const dp = g.dot(gp, vp, Dv);
                  const ds = g.scalar();
                  f.get(dp, di).op(g.sop('sub')).get(p).op(g.sop('mul')).get(scale).op(g.sop('mul')).set(ds);
                  g.update(dqp, D, ds, kp, null);
                  g.update(dkp, D, ds, qp, null);
                  g.update(dvp, Dv, p, gp, null);
                });
                g.bump(dkp, dk!.sl);
                g.bump(dvp, dv!.sl);
              });
            });
            g.bump(i, 1);
            f.br(nextRow);
          }),
        );
      }
      g.bump(r, 1);
      f.br(nextItem);
    }),
  );
}
