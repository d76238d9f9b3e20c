/**
 * The float32 attention backward, register-blocked like the forward (attention-f32.ts): one work item is a
 * (b, h) pair (dK/dV accumulate without races); its query rows go by groups of 4 whose scores for a key form one
 * f32x4. Per group: Di = dO·O per row; pass 1 recomputes the running max m and sum l (online, per key); pass 2
 * per key: p = e^(s − m)/l, dp = dO·v, ds = scale·p(dp − Di), then dq_t += ds_t·k, dk += Σ_t ds_t·q_t and
 * dv += Σ_t p_t·dO_t, loading k, dk and dv once for the 4 rows. Rows past L (inputs clamped to row L − 1) and
 * rows with no allowed key get p = 0, so they add nothing and their gradients are 0.
 *
 * Descriptor: as codegen/attention.ts. Scratch: 4 spare dq rows of D.
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Local } from '../wasm/func.js';
import { ATTN } from './attention.js';
import { expF32 } from './math-f32.js';
import { loopBy } from './nest.js';
import { Ssa } from './ssa.js';

export const backwardScratchBytesF32 = (D: number) => 16 * D + 16;

const lanes = (l: number[]) => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

export function buildAttentionBackwardF32(m: KernelModule, causal: boolean, masked: boolean): void {
  const f = m.func(['i32', 'i32', 'i32', 'i32'], [], 'run');
  const v = new Ssa(f, m);
  const [desc, lo, hi, scratch] = f.params as [Local, Local, Local, Local];
  const i32 = () => f.local('i32');
  const vec = () => f.local('v128');
  const word = (w: number) => {
    const l = i32();
    f.get(desc).mem('i32.load', 4 * w).set(l);
    return l;
  };
  type T4 = { addr: Local; sb: Local; sh: Local; sl: Local };
  const t4 = (w: number): T4 => ({ addr: word(w), sb: word(w + 1), sh: word(w + 2), sl: word(w + 3) });
  const [H, L, S, D, Dv] = [0, 1, 2, 3, 4].map(word) as [Local, Local, Local, Local, Local];
  const scale = vec();
  f.get(desc).mem('f64.load', 4 * 5).op('f32.demote_f64', 'f32x4.splat').set(scale);
  const [q, k, vv, mk, o, go, dq, dk, dv] = [ATTN.Q, ATTN.K, ATTN.V, ATTN.M, ATTN.O, ATTN.GO, ATTN.DQ, ATTN.DK, ATTN.DV].map(t4) as T4[];
  const mj = word(ATTN.M + 4);
  f.beginHoisting();
  const negInf = v.f32x4(-Infinity);
  const zero = v.f32x4(0);

  const [b, h, i0, j, G, g, nKeys] = Array.from({ length: 7 }, i32);
  const rowsOf = () => [i32(), i32(), i32(), i32()];
  const [qp, gp, op, mp, dqp] = [rowsOf(), rowsOf(), rowsOf(), rowsOf(), rowsOf()];
  const [kBase, vBase, dkBase, dvBase, kp, vp, dkp, dvp] = Array.from({ length: 8 }, i32);
  const [mx, l, rl, di, valid4] = [vec(), vec(), vec(), vec(), vec()];
  const base = (t: T4) => f.get(t.addr).get(b, t.sb).op('i32.mul', 'i32.add').get(h, t.sh).op('i32.mul', 'i32.add');
  /**
   * Walks n elements of rows in 4-wide chunks, then one at a time: `body(load, store, bytes)` where `load(p)` reads
   * a chunk at address local p (a single element in lane 0 for the tail) and `store(p, x)` writes one back.
   */
  const chunks = (n: Local, body: (load: (p: Local) => Local, store: (p: Local, x: Local) => void) => void) => {
    const [c, off] = [i32(), i32()];
    f.get(n).set(c);
    f.i32(0).set(off);
    const pass = (wide: boolean) => {
      const load = (p: Local) => {
        const x = vec();
        f.get(p, off).op('i32.add').mem(wide ? 'v128.load' : 'v128.load32_zero').set(x);
        return x;
      };
      const store = (p: Local, x: Local) => {
        f.get(p, off).op('i32.add');
        if (wide) f.get(x).mem('v128.store');
        else f.get(x).lane('f32x4.extract_lane', 0).mem('f32.store');
      };
      loopBy(f, c, wide ? 4 : 1, () => {
        body(load, store);
        f.get(off).i32(wide ? 16 : 4).op('i32.add').set(off);
      });
    };
    pass(true);
    pass(false);
  };
  /** [a_t · b_t] for t < 4 over n elements (b shared when `shared`). */
  const dots4 = (a: Local[], bRows: Local[] | Local, n: Local): Local => {
    const acc = [vec(), vec(), vec(), vec()];
    for (const x of acc) f.get(zero).set(x);
    chunks(n, (load) => {
      const shared = Array.isArray(bRows) ? null : load(bRows);
      for (let t = 0; t < 4; t++) {
        const bx = shared ?? load((bRows as Local[])[t]!);
        f.get(acc[t]!).get(load(a[t]!), bx).op('f32x4.mul', 'f32x4.add').set(acc[t]!);
      }
    });
    const [u, w, out] = [vec(), vec(), vec()];
    f.get(acc[0]!, acc[1]!).shuffle(lanes([0, 4, 1, 5])).get(acc[0]!, acc[1]!).shuffle(lanes([2, 6, 3, 7])).op('f32x4.add').set(u);
    f.get(acc[2]!, acc[3]!).shuffle(lanes([0, 4, 1, 5])).get(acc[2]!, acc[3]!).shuffle(lanes([2, 6, 3, 7])).op('f32x4.add').set(w);
    f.get(u, w).shuffle(lanes([0, 1, 4, 5])).get(u, w).shuffle(lanes([2, 3, 6, 7])).op('f32x4.add').set(out);
    return out;
  };
  /** The 4 rows' scaled, masked scores for key j (kp on key j). */
  const score4 = (): Local => {
    const s = v.op('f32x4.mul', dots4(qp, kp, D), scale);
    if (masked) {
      const mv = vec();
      f.get(zero).set(mv);
      const off = i32();
      f.get(j, mj).op('i32.mul').set(off);
      for (let t = 0; t < 4; t++) f.get(mv).get(mp[t]!, off).op('i32.add').mem('f32.load').lane('f32x4.replace_lane', t).set(mv);
      f.get(s, mv).op('f32x4.add').set(s);
    }
    if (causal) {
      const beyond = vec();
      f.get(j, i0).op('i32.sub', 'i32x4.splat').v128(new Uint8Array(new Int32Array([0, 1, 2, 3]).buffer)).op('i32x4.gt_s').set(beyond);
      f.get(negInf, s, beyond).op('v128.bitselect').set(s);
    }
    return s;
  };
  /** Visits keys j < nKeys with kp, vp, dkp, dvp on key j. */
  const eachKey = (body: () => void) => {
    f.get(kBase).set(kp);
    f.get(vBase).set(vp);
    f.get(dkBase).set(dkp);
    f.get(dvBase).set(dvp);
    f.forUp(j, nKeys, 1, () => {
      body();
      f.get(kp, k.sl).op('i32.add').set(kp);
      f.get(vp, vv.sl).op('i32.add').set(vp);
      f.get(dkp, dk.sl).op('i32.add').set(dkp);
      f.get(dvp, dv.sl).op('i32.add').set(dvp);
    });
  };
  const zeroRows = (addr: Local, rows: Local, stride: Local, n: Local) => {
    const [p, c] = [i32(), i32()];
    f.get(addr).set(p);
    f.get(rows).set(c);
    loopBy(f, c, 1, () => {
      f.get(p).i32(0).get(n).i32(4).op('i32.mul').memoryFill();
      f.get(p, stride).op('i32.add').set(p);
    });
  };

  f.get(L).i32(3).op('i32.add').i32(2).op('i32.shr_u').set(G);
  const r = i32();
  f.get(lo).set(r);
  f.block((done) =>
    f.loop((nextPair) => {
      f.get(r, hi).op('i32.ge_u').brIf(done);
      f.get(r, H).op('i32.rem_u').set(h);
      f.get(r, H).op('i32.div_u').set(b);
      base(k).set(kBase);
      base(vv).set(vBase);
      base(dk).set(dkBase);
      base(dv).set(dvBase);
      zeroRows(dkBase, S, dk.sl, D);
      zeroRows(dvBase, S, dv.sl, Dv);
      f.forUp(g, G, 1, () => {
        f.get(g).i32(2).op('i32.shl').set(i0);
        f.get(zero).set(valid4);
        for (let t = 0; t < 4; t++) {
          const [row, valid] = [i32(), i32()];
          f.get(i0).i32(t).op('i32.add').set(row);
          f.get(row, L).op('i32.lt_s').set(valid);
          f.get(valid4).f32(1).f32(0).get(valid).op('select').lane('f32x4.replace_lane', t).set(valid4);
          f.get(row).get(L).i32(1).op('i32.sub').get(valid).op('select').set(row);
          for (const [t4v, ptr] of [[q, qp], [go, gp], [o, op], [mk, mp]] as const) base(t4v).get(row, t4v.sl).op('i32.mul', 'i32.add').set(ptr[t]!);
          base(dq).get(row, dq.sl).op('i32.mul', 'i32.add');
          f.get(scratch).i32(t * 4).get(D).op('i32.mul', 'i32.add');
          f.get(valid).op('select').set(dqp[t]!);
          f.get(dqp[t]!).i32(0).get(D).i32(4).op('i32.mul').memoryFill();
        }
        if (causal) f.get(i0).i32(4).op('i32.add').get(S).get(i0).i32(4).op('i32.add').get(S).op('i32.lt_s', 'select').set(nKeys);
        else f.get(S).set(nKeys);
        f.get(dots4(gp, op, Dv)).set(di);
        // Pass 1: running max and sum.
        f.get(negInf).set(mx);
        f.get(zero).set(l);
        eachKey(() => {
          const s = score4();
          const mnew = v.op('f32x4.max', mx, s);
          const alpha = v.sel(zero, expF32(v, v.op('f32x4.sub', mx, mnew)), v.op('f32x4.eq', mx, negInf));
          const e = v.sel(zero, expF32(v, v.op('f32x4.sub', s, mnew)), v.op('f32x4.eq', s, negInf));
          f.get(l, alpha).op('f32x4.mul').get(e).op('f32x4.add').set(l);
          f.get(mnew).set(mx);
        });
        // 1/l on valid rows that saw a key, else 0 (so p = 0).
        const inv = v.op('f32x4.div', v.f32x4(1), l);
        f.get(v.sel(inv, zero, v.op('f32x4.gt', l, zero)), valid4).op('f32x4.mul').set(rl);
        // Pass 2: gradients.
        eachKey(() => {
          const s = score4();
          const p = v.sel(zero, v.op('f32x4.mul', expF32(v, v.op('f32x4.sub', s, mx)), rl), v.op('f32x4.eq', s, negInf));
          const dp = dots4(gp, vp, Dv);
          const ds = v.op('f32x4.mul', v.op('f32x4.mul', p, v.op('f32x4.sub', dp, di)), scale);
          const dsT = [0, 1, 2, 3].map((t) => {
            const x = vec();
            f.get(ds).lane('f32x4.extract_lane', t).op('f32x4.splat').set(x);
            return x;
          });
          const pT = [0, 1, 2, 3].map((t) => {
            const x = vec();
            f.get(p).lane('f32x4.extract_lane', t).op('f32x4.splat').set(x);
            return x;
          });
          chunks(D, (load, store) => {
            const kx = load(kp);
            const acc = load(dkp);
            for (let t = 0; t < 4; t++) {
              const dqx = load(dqp[t]!);
              store(dqp[t]!, v.op('f32x4.add', dqx, v.op('f32x4.mul', dsT[t]!, kx)));
              f.get(acc).get(dsT[t]!, load(qp[t]!)).op('f32x4.mul', 'f32x4.add').set(acc);
            }
            store(dkp, acc);
          });
          chunks(Dv, (load, store) => {
            const acc = load(dvp);
            for (let t = 0; t < 4; t++) f.get(acc).get(pT[t]!, load(gp[t]!)).op('f32x4.mul', 'f32x4.add').set(acc);
            store(dvp, acc);
          });
        });
      });
      f.get(r).i32(1).op('i32.add').set(r);
      f.br(nextPair);
    }),
  );
}
