/**
 * float32 attention built from matmul-style register tiles, for head sizes that are multiples of 8 and no explicit
 * mask. Every product runs through one 4×8 tile (the matmul micro-kernel's shape: 8 f32x4 accumulators, per depth
 * step 2 vector loads and 4 broadcasts), so scores, P·V and all five backward products reach matmul speed instead
 * of the dot-product-and-horizontal-sum form of attention-f32.ts.
 *
 * Work items: forward, a group of 4 query rows of one (b, h); backward, one (b, h) pair (dK and dV accumulate).
 * Per group, the 4 rows' scores for every key sit in scratch as [key][4 rows] (one f32x4 per key), so the softmax
 * runs on the 4 rows at once and the scores feed the next product as its broadcast operand. The score tile reads
 * 8 keys per vector pair from kᵀ [D][Spad] (keys padded to a multiple of 8, padding masked): the forward builds
 * it per (b, h) in its scratch (keysT); for the backward the launcher passes kᵀ and vᵀ as [B, H, D or Dv, Spad].
 *
 * Forward per group: pack q (scaled) as [D][4] → s = q·kᵀ → causal mask → m = max, e = exp(s − m) (expNegF32),
 * l = Σe →
 * o = (e·v)/l. Backward per group: the same s, p = e/l (0 on rows past L), dp = dO·vᵀ, Di = dO·o,
 * ds = scale·p·(dp − Di); dq = ds·k, dk += dsᵀ·q, dv += pᵀ·dO (rank-4 updates, the 4 rows' q / dO in registers).
 *
 * Descriptor: as codegen/attention.ts, plus TILED.KT (kᵀ address, backward), TILED.VT (vᵀ address, backward) and
 * TILED.SPAD.
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, FuncRef, Local } from '../wasm/func.js';
import { ATTN } from './attention.js';
import { expNegF32 } from './math-f32.js';
import { loopBy } from './nest.js';
import { Ssa } from './ssa.js';

/** Extra descriptor words after the common attention ones. */
export const TILED = { KT: ATTN.WORDS, VT: ATTN.WORDS + 1, SPAD: ATTN.WORDS + 2 } as const;

/** Keys padded to a multiple of the tile width. */
export const padKeys = (S: number) => Math.ceil(S / 8) * 8;
/** Scratch bytes per thread: forward q pack [D][4], scores [Spad][4], output tile [4][Dv], kᵀ of one (b, h) [D][Spad]. */
export const tiledForwardScratch = (D: number, Dv: number, S: number) => 16 * (D + padKeys(S) + Dv) + 4 * D * padKeys(S) + 64;
/** Backward: q and dO packs, p and ds [Spad][4] each, dq tile [4][D]. */
export const tiledBackwardScratch = (D: number, Dv: number, S: number) => 16 * (2 * D + Dv + 2 * padKeys(S)) + 64;

/** i8x16.shuffle bytes from f32 lane indices (0–3 first operand, 4–7 second). */
const lanes = (l: number[]) => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

/** Four f32x4 rows (locals) → four columns (new locals). */
function transpose4(f: Fn, v: Local[]): Local[] {
  const t = [0, 1, 2, 3].map(() => f.local('v128'));
  const o = [0, 1, 2, 3].map(() => f.local('v128'));
  f.get(v[0]!, v[1]!).shuffle(lanes([0, 4, 1, 5])).set(t[0]!);
  f.get(v[2]!, v[3]!).shuffle(lanes([0, 4, 1, 5])).set(t[1]!);
  f.get(v[0]!, v[1]!).shuffle(lanes([2, 6, 3, 7])).set(t[2]!);
  f.get(v[2]!, v[3]!).shuffle(lanes([2, 6, 3, 7])).set(t[3]!);
  f.get(t[0]!, t[1]!).shuffle(lanes([0, 1, 4, 5])).set(o[0]!);
  f.get(t[0]!, t[1]!).shuffle(lanes([2, 3, 6, 7])).set(o[1]!);
  f.get(t[2]!, t[3]!).shuffle(lanes([0, 1, 4, 5])).set(o[2]!);
  f.get(t[2]!, t[3]!).shuffle(lanes([2, 3, 6, 7])).set(o[3]!);
  return o;
}

/**
 * tile(pa, sa, pb, sb, n, pc, ldc): the 4×8 product C[t][c] = Σ_k a_k[t]·b_k[c] over n depth steps, where a_k is 4
 * floats at pa + k·sa and b_k 8 floats at pb + k·sb. `transposed` stores C as [8][4] at pc (one f32x4 per column);
 * otherwise as 4 rows of 8 at pc + t·ldc. One depth step per loop iteration: V8 issues a body's loads first, and
 * this keeps loads + accumulators within its 15 usable xmm registers (see matmul.ts).
 */
function tileFn(m: KernelModule, transposed: boolean): FuncRef {
  return m.helper(`attn-tile:${+transposed}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [pa, sa, pb, sb, n, pc, ldc] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local];
    const acc = [0, 1, 2, 3].map(() => [f.local('v128'), f.local('v128')]);
    const [b0, b1, a] = [f.local('v128'), f.local('v128'), f.local('v128')];
    for (const row of acc) for (const x of row) f.v128(new Uint8Array(16)).set(x);
    loopBy(f, n, 1, () => {
      f.get(pb).mem('v128.load').set(b0);
      f.get(pb).mem('v128.load', 16).set(b1);
      for (let t = 0; t < 4; t++) {
        f.get(pa).mem('v128.load32_splat', 4 * t).set(a);
        f.get(a, b0).op('f32x4.mul').get(acc[t]![0]!).op('f32x4.add').set(acc[t]![0]!);
        f.get(a, b1).op('f32x4.mul').get(acc[t]![1]!).op('f32x4.add').set(acc[t]![1]!);
      }
      f.get(pa, sa).op('i32.add').set(pa);
      f.get(pb, sb).op('i32.add').set(pb);
    });
    if (transposed) {
      for (let u = 0; u < 2; u++) {
        const cols = transpose4(f, acc.map((row) => row[u]!));
        for (let l = 0; l < 4; l++) f.get(pc, cols[l]!).mem('v128.store', (4 * u + l) * 16);
      }
    } else {
      for (let t = 0; t < 4; t++) {
        f.get(pc, acc[t]![0]!).mem('v128.store');
        f.get(pc, acc[t]![1]!).mem('v128.store', 16);
        f.get(pc, ldc).op('i32.add').set(pc);
      }
    }
  });
}

/**
 * rank4(pa, r0, r1, r2, r3, pd, ldd, n, cols): D[j][c] += Σ_t a_j[t]·R_t[c] for j < n and the first `cols` bytes
 * of each row (a multiple of 32), with a_j the 4 floats at pa + 16j, R_t the row at r_t and D rows ldd bytes apart. The 4 rows' 8-column slices stay
 * in registers while j runs.
 */
function rank4Fn(m: KernelModule): FuncRef {
  return m.helper('attn-rank4', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [pa, r0, r1, r2, r3, pd, ldd, n, cols] = f.params as Local[];
    const rows = [r0!, r1!, r2!, r3!];
    const rv = [0, 1, 2, 3].map(() => [f.local('v128'), f.local('v128')]);
    const [d0, d1, a] = [f.local('v128'), f.local('v128'), f.local('v128')];
    const [c, p, d, j] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    f.i32(0).set(c);
    f.block((done) =>
      f.loop((nextCols) => {
        f.get(c, cols!).op('i32.ge_s').brIf(done);
        for (let t = 0; t < 4; t++) {
          f.get(rows[t]!, c).op('i32.add').mem('v128.load').set(rv[t]![0]!);
          f.get(rows[t]!, c).op('i32.add').mem('v128.load', 16).set(rv[t]![1]!);
        }
        f.get(pa!).set(p);
        f.get(pd!, c).op('i32.add').set(d);
        f.get(n!).set(j);
        loopBy(f, j, 1, () => {
          f.get(d).mem('v128.load').set(d0);
          f.get(d).mem('v128.load', 16).set(d1);
          for (let t = 0; t < 4; t++) {
            f.get(p).mem('v128.load32_splat', 4 * t).set(a);
            f.get(a, rv[t]![0]!).op('f32x4.mul').get(d0).op('f32x4.add').set(d0);
            f.get(a, rv[t]![1]!).op('f32x4.mul').get(d1).op('f32x4.add').set(d1);
          }
          f.get(d, d0).mem('v128.store');
          f.get(d, d1).mem('v128.store', 16);
          f.get(p).i32(16).op('i32.add').set(p);
          f.get(d, ldd!).op('i32.add').set(d);
        });
        f.get(c).i32(32).op('i32.add').set(c);
        f.br(nextCols);
      }),
    );
  });
}

/** pack4(r0, r1, r2, r3, n, dst, scale): dst[k][t] = scale·row_t[k] for k < n (a multiple of 4). */
function pack4Fn(m: KernelModule): FuncRef {
  return m.helper('attn-pack4', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32'], [], (f) => {
    const [r0, r1, r2, r3, n, dst, scale] = f.params as Local[];
    const rows = [r0!, r1!, r2!, r3!];
    const [s, off] = [f.local('v128'), f.local('i32')];
    f.get(scale!).op('f32x4.splat').set(s);
    f.i32(0).set(off);
    loopBy(f, n!, 4, () => {
      const v = rows.map((r) => {
        const x = f.local('v128');
        f.get(r, off).op('i32.add').mem('v128.load').set(x);
        return x;
      });
      const cols = transpose4(f, v);
      for (let l = 0; l < 4; l++) f.get(dst!).get(cols[l]!, s).op('f32x4.mul').mem('v128.store', 16 * l);
      f.get(dst!).i32(64).op('i32.add').set(dst!);
      f.get(off).i32(16).op('i32.add').set(off);
    });
  });
}

/**
 * keysT(k, sl, S, D, dst, ldd, spad): dst[d][j] = k[min(j, S − 1)][d] for d < D (a multiple of 4) and j < spad
 * (a multiple of 4); k rows sl bytes apart, dst rows ldd bytes apart. Padding keys repeat the last key: they
 * are masked to −∞ before the softmax, so they only need to be finite.
 */
function keysTFn(m: KernelModule): FuncRef {
  return m.helper('attn-keys-t', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [k, sl, S, D, dst, ldd, spad] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local];
    const [j, d, out] = [f.local('i32'), f.local('i32'), f.local('i32')];
    const rows = [0, 1, 2, 3].map(() => f.local('i32'));
    f.i32(0).set(j);
    f.block((doneKeys) =>
      f.loop((nextKeys) => {
        f.get(j, spad).op('i32.ge_s').brIf(doneKeys);
        rows.forEach((r, t) => {
          f.get(j).i32(t).op('i32.add').get(S).i32(1).op('i32.sub');
          f.get(j).i32(t).op('i32.add').get(S).i32(1).op('i32.sub').op('i32.lt_s', 'select');
          f.get(sl).op('i32.mul').get(k).op('i32.add').set(r);
        });
        f.get(dst).get(j).i32(4).op('i32.mul', 'i32.add').set(out);
        f.i32(0).set(d);
        f.block((doneDepth) =>
          f.loop((nextDepth) => {
            f.get(d, D).op('i32.ge_s').brIf(doneDepth);
            const v = rows.map((r) => {
              const x = f.local('v128');
              f.get(r, d).i32(4).op('i32.mul', 'i32.add').mem('v128.load').set(x);
              return x;
            });
            const cols = transpose4(f, v);
            for (let l = 0; l < 4; l++) {
              f.get(out, cols[l]!).mem('v128.store');
              f.get(out, ldd).op('i32.add').set(out);
            }
            f.get(d).i32(4).op('i32.add').set(d);
            f.br(nextDepth);
          }),
        );
        f.get(j).i32(4).op('i32.add').set(j);
        f.br(nextKeys);
      }),
    );
  });
}

/** Shared prologue: descriptor words, tensor bases per (b, h), and the score pass of one group of 4 rows. */
class Kernel {
  readonly f: Fn;
  readonly v: Ssa;
  readonly desc: Local;
  readonly lo: Local;
  readonly hi: Local;
  readonly scratch: Local;
  readonly dims: { H: Local; L: Local; S: Local; D: Local; Dv: Local };
  readonly scale: Local;
  readonly kt: Local;
  readonly vt: Local;
  readonly spad: Local;
  readonly tileT: FuncRef;
  readonly tileR: FuncRef;
  readonly pack4: FuncRef;
  readonly negInf: Local;
  readonly zero: Local;

  constructor(
    readonly m: KernelModule,
    readonly causal: boolean,
  ) {
    this.tileT = tileFn(m, true);
    this.tileR = tileFn(m, false);
    this.pack4 = pack4Fn(m);
    const f = (this.f = m.func(['i32', 'i32', 'i32', 'i32'], [], 'run'));
    this.v = new Ssa(f, m);
    [this.desc, this.lo, this.hi, this.scratch] = f.params as [Local, Local, Local, Local];
    const [H, L, S, D, Dv] = [0, 1, 2, 3, 4].map((w) => this.word(w));
    this.dims = { H: H!, L: L!, S: S!, D: D!, Dv: Dv! };
    this.scale = f.local('f32');
    f.get(this.desc).mem('f64.load', 4 * 5).op('f32.demote_f64').set(this.scale);
    this.kt = this.word(TILED.KT);
    this.vt = this.word(TILED.VT);
    this.spad = this.word(TILED.SPAD);
    f.beginHoisting();
    this.negInf = this.v.f32x4(-Infinity);
    this.zero = this.v.f32x4(0);
  }

  i32(): Local {
    return this.f.local('i32');
  }
  word(w: number): Local {
    const l = this.i32();
    this.f.get(this.desc).mem('i32.load', 4 * w).set(l);
    return l;
  }
  /** [addr, bStride, hStride, rowStride] of a tensor in the descriptor. */
  tensor(w: number) {
    return { addr: this.word(w), sb: this.word(w + 1), sh: this.word(w + 2), sl: this.word(w + 3) };
  }
  /** Local = t.addr + b·sb + h·sh. */
  base(t: ReturnType<Kernel['tensor']>, b: Local, h: Local): Local {
    const l = this.i32();
    this.f.get(t.addr).get(b, t.sb).op('i32.mul', 'i32.add').get(h, t.sh).op('i32.mul', 'i32.add').set(l);
    return l;
  }
  /** Row pointers of rows i0 + t (clamped to L − 1) of a tensor whose (b, h) base is `base`. */
  rows(base: Local, sl: Local, i0: Local): Local[] {
    const { f } = this;
    const { L } = this.dims;
    return [0, 1, 2, 3].map((t) => {
      const p = this.i32();
      f.get(i0).i32(t).op('i32.add').get(L).i32(1).op('i32.sub');
      f.get(i0).i32(t).op('i32.add').get(L).i32(1).op('i32.sub').op('i32.lt_s', 'select');
      f.get(sl).op('i32.mul').get(base).op('i32.add').set(p);
      return p;
    });
  }

  /**
   * Scores of rows i0..i0+3 against keys [0, nKeys) into sc as [key][4], causal-masked with −inf, then
   * e = exp(s − m) in place; returns l = Σ e (per row, f32x4). `qp` holds the scaled q pack [D][4].
   */
  scores(qp: Local, ktBase: Local, nKeys: Local, i0: Local, sc: Local): Local {
    const { f, v, negInf, zero } = this;
    const { S, D } = this.dims;
    const [jt, j, p] = [this.i32(), this.i32(), this.i32()];
    const tiles = this.i32();
    f.get(nKeys).i32(7).op('i32.add').i32(3).op('i32.shr_u').set(tiles);
    const ldk = this.i32();
    f.get(this.spad).i32(4).op('i32.mul').set(ldk);
    this.f.forUp(jt, tiles, 1, () => {
      f.get(qp).i32(16).get(ktBase).get(jt).i32(32).op('i32.mul', 'i32.add').get(ldk, D);
      f.get(sc).get(jt).i32(128).op('i32.mul', 'i32.add').i32(0).call(this.tileT);
    });
    // Keys a row may not see: j ≥ S (the padding) and, causal, j > i0 + t. Only keys from min(i0, S) on (causal)
    // or S on can be masked, so the loop starts there.
    const lim = this.i32();
    f.get(tiles).i32(3).op('i32.shl').set(lim);
    const limits = f.local('v128');
    if (this.causal) {
      // min(S, i0 + t + 1) per lane
      f.get(i0).op('i32x4.splat').v128(new Uint8Array(new Int32Array([1, 2, 3, 4]).buffer)).op('i32x4.add');
      f.get(S).op('i32x4.splat').op('i32x4.min_s').set(limits);
      f.get(i0, S, i0, S).op('i32.lt_s', 'select').set(j);
    } else {
      f.get(S).op('i32x4.splat').set(limits);
      f.get(S).set(j);
    }
    f.block((exit) =>
      f.loop((next) => {
        f.get(j, lim).op('i32.ge_s').brIf(exit);
        f.get(sc).get(j).i32(16).op('i32.mul', 'i32.add').set(p);
        f.get(p).get(p).mem('v128.load').get(negInf);
        f.get(j).op('i32x4.splat').get(limits).op('i32x4.lt_s').op('v128.bitselect').mem('v128.store');
        f.get(j).i32(1).op('i32.add').set(j);
        f.br(next);
      }),
    );
    // Row max, then e = exp(s − m) and l = Σ e over the keys in use.
    const [mx, l] = [f.local('v128'), f.local('v128')];
    f.get(negInf).set(mx);
    this.f.forUp(j, nKeys, 1, () => {
      f.get(mx).get(sc).get(j).i32(16).op('i32.mul', 'i32.add').mem('v128.load').op('f32x4.max').set(mx);
    });
    // Two keys per iteration with separate sums: one exp is a long dependent chain, and two interleaved ones
    // keep the vector units busy. Only causal runs have −∞ among the first nKeys keys (padding lies past them).
    const l2 = f.local('v128');
    const expAt = (offset: number, sum: Local) => {
      const s = f.local('v128');
      f.get(p).mem('v128.load', offset).set(s);
      const x = expNegF32(v, v.op('f32x4.sub', s, mx));
      const e = this.causal ? v.sel(zero, x, v.op('f32x4.eq', s, negInf)) : x;
      f.get(p, e).mem('v128.store', offset);
      f.get(sum, e).op('f32x4.add').set(sum);
    };
    f.get(zero).set(l);
    f.get(zero).set(l2);
    const pairs = this.i32();
    f.get(nKeys).i32(1).op('i32.shr_u').set(pairs);
    this.f.forUp(j, pairs, 1, () => {
      f.get(sc).get(j).i32(32).op('i32.mul', 'i32.add').set(p);
      expAt(0, l);
      expAt(16, l2);
    });
    f.get(nKeys).i32(1).op('i32.and');
    f.if(() => {
      f.get(sc).get(nKeys).i32(16).op('i32.mul', 'i32.add').i32(16).op('i32.sub').set(p);
      expAt(0, l);
    });
    f.get(l, l2).op('f32x4.add').set(l);
    return l;
  }
}

export function buildAttentionTiledForward(m: KernelModule, causal: boolean): void {
  const k = new Kernel(m, causal);
  const { f, v } = k;
  const { H, L, S, D, Dv } = k.dims;
  const [q, vv, o] = [k.tensor(ATTN.Q), k.tensor(ATTN.V), k.tensor(ATTN.O)];
  const [G, r, g, bh, b, h, i0, nKeys, c, t] = Array.from({ length: 10 }, () => k.i32());
  const keysT = keysTFn(m);
  const kk = k.tensor(ATTN.K);
  // Scratch: q pack [D][4] | scores [Spad][4] | output tile [4][Dv] | kᵀ [D][Spad] of the (b, h) last seen.
  // Each thread transposes k once per (b, h) it works on (tasks are runs of consecutive groups), in parallel and
  // into cache, instead of a separate pass over all of k (and a B·H·D·Spad temporary) before the launch.
  const [qp, sc, ot, ktBase, ldk, curBh] = [k.i32(), k.i32(), k.i32(), k.i32(), k.i32(), k.i32()];
  f.get(k.scratch).set(qp);
  f.get(qp).get(D).i32(16).op('i32.mul', 'i32.add').set(sc);
  f.get(sc).get(k.spad).i32(16).op('i32.mul', 'i32.add').set(ot);
  const ldot = k.i32();
  f.get(Dv).i32(4).op('i32.mul').set(ldot);
  f.get(ot).get(ldot).i32(4).op('i32.mul', 'i32.add').set(ktBase);
  f.get(k.spad).i32(4).op('i32.mul').set(ldk);
  f.i32(-1).set(curBh);
  f.get(L).i32(3).op('i32.add').i32(2).op('i32.shr_u').set(G);
  f.get(k.lo).set(r);
  f.block((done) =>
    f.loop((nextItem) => {
      f.get(r, k.hi).op('i32.ge_u').brIf(done);
      f.get(r, G).op('i32.rem_u').set(g);
      f.get(r, G).op('i32.div_u').set(bh);
      f.get(bh, H).op('i32.rem_u').set(h);
      f.get(bh, H).op('i32.div_u').set(b);
      f.get(g).i32(2).op('i32.shl').set(i0);
      const qr = k.rows(k.base(q, b, h), q.sl, i0);
      f.get(qr[0]!, qr[1]!, qr[2]!, qr[3]!, D, qp, k.scale).call(k.pack4);
      if (causal) f.get(i0).i32(4).op('i32.add').get(S).get(i0).i32(4).op('i32.add').get(S).op('i32.lt_s', 'select').set(nKeys);
      else f.get(S).set(nKeys);
      f.get(bh, curBh).op('i32.ne');
      f.if(() => {
        f.get(k.base(kk, b, h), kk.sl, S, D, ktBase, ldk, k.spad).call(keysT);
        f.get(bh).set(curBh);
      });
      const l = k.scores(qp, ktBase, nKeys, i0, sc);
      // o = e·v into the output tile, 8 columns at a time.
      const vBase = k.base(vv, b, h);
      k.f.forUp(c, Dv, 8, () => {
        f.get(sc).i32(16).get(vBase, c).i32(4).op('i32.mul', 'i32.add').get(vv.sl, nKeys);
        f.get(ot, c).i32(4).op('i32.mul', 'i32.add').get(ldot).call(k.tileR);
      });
      // Copy the valid rows out, divided by l (l > 0: every row sees key 0).
      const inv = v.op('f32x4.div', v.f32x4(1), l);
      const oBase = k.base(o, b, h);
      for (let lane = 0; lane < 4; lane++) {
        f.get(i0).i32(lane).op('i32.add').get(L).op('i32.lt_s');
        f.if(() => {
          const [src, dst, a] = [k.i32(), k.i32(), f.local('v128')];
          f.get(inv).lane('f32x4.extract_lane', lane).op('f32x4.splat').set(a);
          f.get(ot).i32(lane).get(ldot).op('i32.mul', 'i32.add').set(src);
          f.get(oBase).get(i0).i32(lane).op('i32.add').get(o.sl).op('i32.mul', 'i32.add').set(dst);
          f.get(Dv).set(t);
          loopBy(f, t, 4, () => {
            f.get(dst).get(src).mem('v128.load').get(a).op('f32x4.mul').mem('v128.store');
            f.get(src).i32(16).op('i32.add').set(src);
            f.get(dst).i32(16).op('i32.add').set(dst);
          });
        });
      }
      f.get(r).i32(1).op('i32.add').set(r);
      f.br(nextItem);
    }),
  );
}

export function buildAttentionTiledBackward(m: KernelModule, causal: boolean): void {
  const k = new Kernel(m, causal);
  const { f, v, zero } = k;
  const { H, L, S, D, Dv } = k.dims;
  const rank4 = rank4Fn(m);
  const [q, kk, o, go, dq, dk, dv] = [ATTN.Q, ATTN.K, ATTN.O, ATTN.GO, ATTN.DQ, ATTN.DK, ATTN.DV].map((w) => k.tensor(w));
  const [G, r, g, b, h, i0, nKeys, c, j, t] = Array.from({ length: 10 }, () => k.i32());
  // Scratch: q pack [D][4] | dO pack [Dv][4] | p [Spad][4] | ds [Spad][4] | dq tile [4][D].
  const [qp, gp, pp, ds, dqt] = [k.i32(), k.i32(), k.i32(), k.i32(), k.i32()];
  f.get(k.scratch).set(qp);
  f.get(qp).get(D).i32(16).op('i32.mul', 'i32.add').set(gp);
  f.get(gp).get(Dv).i32(16).op('i32.mul', 'i32.add').set(pp);
  f.get(pp).get(k.spad).i32(16).op('i32.mul', 'i32.add').set(ds);
  f.get(ds).get(k.spad).i32(16).op('i32.mul', 'i32.add').set(dqt);
  const [lddq, ldt] = [k.i32(), k.i32()];
  f.get(D).i32(4).op('i32.mul').set(lddq);
  f.get(k.spad).i32(4).op('i32.mul').set(ldt);
  const scaleV = f.local('v128');
  f.get(k.scale).op('f32x4.splat').set(scaleV);
  f.get(L).i32(3).op('i32.add').i32(2).op('i32.shr_u').set(G);
  f.get(k.lo).set(r);
  f.block((done) =>
    f.loop((nextPair) => {
      f.get(r, k.hi).op('i32.ge_u').brIf(done);
      f.get(r, H).op('i32.rem_u').set(h);
      f.get(r, H).op('i32.div_u').set(b);
      const [qBase, kBase, oBase, gBase, dqBase, dkBase, dvBase] = [q, kk, o, go, dq, dk, dv].map((x) => k.base(x, b, h)) as Local[];
      const bh = k.i32();
      f.get(b, H).op('i32.mul').get(h).op('i32.add').set(bh);
      const [ktBase, vtBase] = [k.i32(), k.i32()];
      f.get(k.kt).get(bh, D).op('i32.mul').get(ldt).op('i32.mul', 'i32.add').set(ktBase);
      f.get(k.vt).get(bh, Dv).op('i32.mul').get(ldt).op('i32.mul', 'i32.add').set(vtBase);
      // dk, dv rows of this pair start at zero (the outputs are contiguous [S][D] / [S][Dv] per pair).
      f.get(dkBase!).i32(0).get(S, lddq).op('i32.mul').memoryFill();
      f.get(dvBase!).i32(0).get(S, Dv).op('i32.mul').i32(4).op('i32.mul').memoryFill();
      k.f.forUp(g, G, 1, () => {
        f.get(g).i32(2).op('i32.shl').set(i0);
        const [qr, gr, or] = [k.rows(qBase!, q.sl, i0), k.rows(gBase!, go.sl, i0), k.rows(oBase!, o.sl, i0)];
        f.get(qr[0]!, qr[1]!, qr[2]!, qr[3]!, D, qp, k.scale).call(k.pack4);
        f.get(gr[0]!, gr[1]!, gr[2]!, gr[3]!, Dv).get(gp).f32(1).call(k.pack4);
        if (causal) f.get(i0).i32(4).op('i32.add').get(S).get(i0).i32(4).op('i32.add').get(S).op('i32.lt_s', 'select').set(nKeys);
        else f.get(S).set(nKeys);
        const l = k.scores(qp, ktBase, nKeys, i0, pp);
        // p = e / l on rows < L, 0 on the clamped rows past L.
        const valid = f.local('v128');
        f.get(i0).op('i32x4.splat').v128(new Uint8Array(new Int32Array([0, 1, 2, 3]).buffer)).op('i32x4.add');
        f.get(L).op('i32x4.splat').op('i32x4.lt_s').set(valid);
        const rl = v.sel(v.op('f32x4.div', v.f32x4(1), l), zero, valid);
        const p = k.i32();
        k.f.forUp(j, nKeys, 1, () => {
          f.get(pp).get(j).i32(16).op('i32.mul', 'i32.add').set(p);
          f.get(p).get(p).mem('v128.load').get(rl).op('f32x4.mul').mem('v128.store');
        });
        // Di = Σ_c dO[t][c]·o[t][c], from the dO pack ([Dv][4]) and the o rows.
        const di = f.local('v128');
        f.get(zero).set(di);
        const [pg, off] = [k.i32(), k.i32()];
        f.get(gp).set(pg);
        f.i32(0).set(off);
        f.get(Dv).set(t);
        loopBy(f, t, 4, () => {
          const ov = or.map((row) => {
            const x = f.local('v128');
            f.get(row, off).op('i32.add').mem('v128.load').set(x);
            return x;
          });
          for (const [lane, col] of transpose4(f, ov).entries())
            f.get(di).get(pg).mem('v128.load', 16 * lane).get(col).op('f32x4.mul', 'f32x4.add').set(di);
          f.get(pg).i32(64).op('i32.add').set(pg);
          f.get(off).i32(16).op('i32.add').set(off);
        });
        // dp = dO·vᵀ into ds as [key][4], then ds = scale·p·(dp − Di).
        const tiles = k.i32();
        f.get(nKeys).i32(7).op('i32.add').i32(3).op('i32.shr_u').set(tiles);
        k.f.forUp(j, tiles, 1, () => {
          f.get(gp).i32(16).get(vtBase).get(j).i32(32).op('i32.mul', 'i32.add').get(ldt, Dv);
          f.get(ds).get(j).i32(128).op('i32.mul', 'i32.add').i32(0).call(k.tileT);
        });
        const pd = k.i32();
        k.f.forUp(j, nKeys, 1, () => {
          f.get(j).i32(16).op('i32.mul').set(off);
          f.get(ds, off).op('i32.add').set(pd);
          f.get(pp, off).op('i32.add').set(p);
          f.get(pd).get(pd).mem('v128.load').get(di).op('f32x4.sub').get(p).mem('v128.load').op('f32x4.mul').get(scaleV).op('f32x4.mul').mem('v128.store');
        });
        // dq = ds·k (4 rows × 8 columns per tile) into the dq tile, then the valid rows out.
        k.f.forUp(c, D, 8, () => {
          f.get(ds).i32(16).get(kBase!, c).i32(4).op('i32.mul', 'i32.add').get(kk.sl, nKeys);
          f.get(dqt, c).i32(4).op('i32.mul', 'i32.add').get(lddq).call(k.tileR);
        });
        for (let lane = 0; lane < 4; lane++) {
          f.get(i0).i32(lane).op('i32.add').get(L).op('i32.lt_s');
          f.if(() => {
            f.get(dqBase!).get(i0).i32(lane).op('i32.add').get(dq.sl).op('i32.mul', 'i32.add');
            f.get(dqt).i32(lane).get(lddq).op('i32.mul', 'i32.add').get(lddq).memoryCopy();
          });
        }
        // dk += dsᵀ·q, dv += pᵀ·dO over the keys in use.
        f.get(ds, qr[0]!, qr[1]!, qr[2]!, qr[3]!, dkBase!, dk.sl, nKeys, lddq).call(rank4);
        f.get(pp, gr[0]!, gr[1]!, gr[2]!, gr[3]!, dvBase!, dv.sl, nKeys).get(Dv).i32(4).op('i32.mul').call(rank4);
      });
      f.get(r).i32(1).op('i32.add').set(r);
      f.br(nextPair);
    }),
  );
}
