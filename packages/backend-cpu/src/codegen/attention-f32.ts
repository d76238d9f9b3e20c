/**
 * The float32 attention forward, register-blocked: one work item is a group of 4 query rows of one (b, h), whose
 * 4 scores for a key form one f32x4 (each key row is loaded once for the 4 dot products, and exp / max / the
 * online-softmax bookkeeping run on all 4 rows at once). Keys go by blocks of BLOCK: the block's scores (4 × BLOCK,
 * in the thread's scratch) give a block max; the running max m, sum l and the output rows (the accumulators) are
 * rescaled once per block; then P·V adds the block into the output rows, 4 rows × 8 columns in registers.
 * Causal groups stop at the last key their last row allows; earlier rows mask the rest with −inf. Rows past L
 * reuse row L − 1's inputs and write to scratch. Memory: BLOCK scores per row, no L×S buffer.
 *
 * Descriptor: as codegen/attention.ts. Scratch: scores [BLOCK][4] f32, then 4 spare output rows of Dv.
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import { ATTN } from './attention.js';
import { expF32 } from './math-f32.js';
import { loopBy } from './nest.js';
import { Ssa } from './ssa.js';

export const BLOCK = 32;
export const scratchBytesF32 = (Dv: number) => BLOCK * 16 + 4 * Dv * 4;

/** Byte pattern of an f32-lane shuffle (lanes 0–3 from a, 4–7 from b). */
const lanes = (l: number[]) => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

/** [Σ a0, Σ a1, Σ a2, Σ a3] of four f32x4. */
function hsum4(f: Fn, a: Local[]): Local {
  const [u, w, out] = [f.local('v128'), f.local('v128'), f.local('v128')];
  f.get(a[0]!, a[1]!).shuffle(lanes([0, 4, 1, 5])).get(a[0]!, a[1]!).shuffle(lanes([2, 6, 3, 7])).op('f32x4.add').set(u);
  f.get(a[2]!, a[3]!).shuffle(lanes([0, 4, 1, 5])).get(a[2]!, a[3]!).shuffle(lanes([2, 6, 3, 7])).op('f32x4.add').set(w);
  f.get(u, w).shuffle(lanes([0, 1, 4, 5])).get(u, w).shuffle(lanes([2, 3, 6, 7])).op('f32x4.add').set(out);
  return out;
}

export function buildAttentionForwardF32(m: KernelModule, causal: boolean, masked: boolean): void {
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
  const t4 = (w: number) => ({ addr: word(w), sb: word(w + 1), sh: word(w + 2), sl: word(w + 3) });
  const [H, L, S, D, Dv] = [0, 1, 2, 3, 4].map(word) as [Local, Local, Local, Local, Local];
  const scale = vec();
  f.get(desc).mem('f64.load', 4 * 5).op('f32.demote_f64', 'f32x4.splat').set(scale);
  const [q, k, vv, mk, o] = [t4(ATTN.Q), t4(ATTN.K), t4(ATTN.V), t4(ATTN.M), t4(ATTN.O)];
  const mj = word(ATTN.M + 4);
  f.beginHoisting();
  const negInf = v.f32x4(-Infinity);
  const zero = v.f32x4(0);

  const [b, h, g, i0, bh, G, nKeys, j0, nb, jj, e, c] = Array.from({ length: 12 }, i32);
  const qp = [i32(), i32(), i32(), i32()];
  const op = [i32(), i32(), i32(), i32()];
  const mp = [i32(), i32(), i32(), i32()];
  const [kBase, vBase, kp, vp, sp] = [i32(), i32(), i32(), i32(), i32()];
  const [mx, l, bmax] = [vec(), vec(), vec()];
  const base = (t: typeof q) => f.get(t.addr).get(b, t.sb).op('i32.mul', 'i32.add').get(h, t.sh).op('i32.mul', 'i32.add');
  // G = ceil(L / 4) groups per (b, h).
  f.get(L).i32(3).op('i32.add').i32(2).op('i32.shr_u').set(G);
  const r = i32();
  f.get(lo).set(r);
  f.block((done) =>
    f.loop((nextItem) => {
      f.get(r, hi).op('i32.ge_u').brIf(done);
      f.get(r, G).op('i32.rem_u').set(g);
      f.get(r, G).op('i32.div_u').set(bh);
      f.get(bh, H).op('i32.rem_u').set(h);
      f.get(bh, H).op('i32.div_u').set(b);
      f.get(g).i32(2).op('i32.shl').set(i0);
      for (let t = 0; t < 4; t++) {
        // Row i0 + t, clamped to L − 1 for the inputs; rows past L write to scratch.
        const row = i32();
        f.get(i0).i32(t).op('i32.add').set(row);
        const valid = i32();
        f.get(row, L).op('i32.lt_s').set(valid);
        f.get(row).get(L).i32(1).op('i32.sub').get(valid).op('select').set(row);
        base(q).get(row, q.sl).op('i32.mul', 'i32.add').set(qp[t]!);
        base(mk).get(row, mk.sl).op('i32.mul', 'i32.add').set(mp[t]!);
        base(o).get(row, o.sl).op('i32.mul', 'i32.add');
        f.get(scratch).i32(t * 4).get(Dv).op('i32.mul', 'i32.add').i32(BLOCK * 16).op('i32.add');
        f.get(valid).op('select').set(op[t]!);
        f.get(op[t]!).i32(0).get(Dv).i32(4).op('i32.mul').memoryFill();
      }
      base(k).set(kBase);
      base(vv).set(vBase);
      if (causal) f.get(i0).i32(4).op('i32.add').get(S).get(i0).i32(4).op('i32.add').get(S).op('i32.lt_s', 'select').set(nKeys);
      else f.get(S).set(nKeys);
      f.get(negInf).set(mx);
      f.get(zero).set(l);
      f.i32(0).set(j0);
      f.block((keysDone) =>
        f.loop((nextBlock) => {
          f.get(j0, nKeys).op('i32.ge_s').brIf(keysDone);
          f.get(nKeys, j0).op('i32.sub').i32(BLOCK).get(nKeys, j0).op('i32.sub').i32(BLOCK).op('i32.lt_s', 'select').set(nb);
          // Scores of the block into scratch, and their max.
          f.get(negInf).set(bmax);
          f.get(kBase).get(j0, k.sl).op('i32.mul', 'i32.add').set(kp);
          f.forUp(jj, nb, 1, () => {
            const acc = [vec(), vec(), vec(), vec()];
            const pq = [i32(), i32(), i32(), i32()];
            for (let t = 0; t < 4; t++) {
              f.get(zero).set(acc[t]!);
              f.get(qp[t]!).set(pq[t]!);
            }
            const [pk, cnt] = [i32(), i32()];
            f.get(kp).set(pk);
            f.get(D).set(cnt);
            const step = (load: 'v128.load' | 'v128.load32_zero', bytes: number) => {
              const kv = vec();
              f.get(pk).mem(load).set(kv);
              for (let t = 0; t < 4; t++) {
                f.get(acc[t]!).get(pq[t]!).mem(load).get(kv).op('f32x4.mul', 'f32x4.add').set(acc[t]!);
                f.get(pq[t]!).i32(bytes).op('i32.add').set(pq[t]!);
              }
              f.get(pk).i32(bytes).op('i32.add').set(pk);
            };
            loopBy(f, cnt, 4, () => step('v128.load', 16));
            loopBy(f, cnt, 1, () => step('v128.load32_zero', 4));
            const s = vec();
            f.get(hsum4(f, acc), scale).op('f32x4.mul').set(s);
            if (masked) {
              const mv = vec();
              f.get(zero).set(mv);
              const off = i32();
              f.get(j0, jj).op('i32.add').get(mj).op('i32.mul').set(off);
              for (let t = 0; t < 4; t++) f.get(mv).get(mp[t]!, off).op('i32.add').mem('f32.load').lane('f32x4.replace_lane', t).set(mv);
              f.get(s, mv).op('f32x4.add').set(s);
            }
            if (causal) {
              // Row i0 + t may see key j iff j − i0 ≤ t.
              const beyond = vec();
              f.get(j0, jj).op('i32.add').get(i0).op('i32.sub', 'i32x4.splat').v128(new Uint8Array(new Int32Array([0, 1, 2, 3]).buffer)).op('i32x4.gt_s').set(beyond);
              f.get(negInf, s, beyond).op('v128.bitselect').set(s);
            }
            f.get(scratch).get(jj).i32(4).op('i32.shl', 'i32.add').get(s).mem('v128.store');
            f.get(bmax, s).op('f32x4.max').set(bmax);
            f.get(kp, k.sl).op('i32.add').set(kp);
          });
          // Online softmax: new max, rescale l and the output rows, then p = e^(s − m) in place.
          const mnew = v.op('f32x4.max', mx, bmax);
          const alphaRaw = expF32(v, v.op('f32x4.sub', mx, mnew));
          const alpha = v.sel(zero, alphaRaw, v.op('f32x4.eq', mx, negInf));
          f.get(l, alpha).op('f32x4.mul').set(l);
          f.get(mnew).set(mx);
          for (let t = 0; t < 4; t++) {
            const [a, pd, cnt] = [vec(), i32(), i32()];
            f.get(alpha).lane('f32x4.extract_lane', t).op('f32x4.splat').set(a);
            f.get(op[t]!).set(pd);
            f.get(Dv).set(cnt);
            loopBy(f, cnt, 4, () => {
              f.get(pd).get(pd).mem('v128.load').get(a).op('f32x4.mul').mem('v128.store');
              f.get(pd).i32(16).op('i32.add').set(pd);
            });
            loopBy(f, cnt, 1, () => {
              f.get(pd).get(pd).mem('f32.load').get(a).lane('f32x4.extract_lane', 0).op('f32.mul').mem('f32.store');
              f.get(pd).i32(4).op('i32.add').set(pd);
            });
          }
          f.forUp(jj, nb, 1, () => {
            f.get(scratch).get(jj).i32(4).op('i32.shl', 'i32.add').set(sp);
            const s = vec();
            f.get(sp).mem('v128.load').set(s);
            const p = v.sel(zero, expF32(v, v.op('f32x4.sub', s, mx)), v.op('f32x4.eq', s, negInf));
            f.get(sp, p).mem('v128.store');
            f.get(l, p).op('f32x4.add').set(l);
          });
          // P·V: output rows += Σ_j p[j] v[j], 4 rows × 8 columns at a time.
          f.get(vBase).get(j0, vv.sl).op('i32.mul', 'i32.add').set(vBase);
          const tile = (width: 1 | 2 | 0) => {
            // width 2: 8 columns, 1: 4 columns, 0: one scalar column (lane 0 only).
            const nv = Math.max(width, 1);
            const acc = Array.from({ length: 4 }, () => Array.from({ length: nv }, vec));
            const load = width === 0 ? 'v128.load32_zero' : 'v128.load';
            for (let t = 0; t < 4; t++)
              for (let u = 0; u < nv; u++) f.get(op[t]!, e).op('i32.add').mem(load, 16 * u).set(acc[t]![u]!);
            f.get(vBase, e).op('i32.add').set(vp);
            f.get(scratch).set(sp);
            f.get(nb).set(c);
            loopBy(f, c, 1, () => {
              const vx = Array.from({ length: nv }, vec);
              for (let u = 0; u < nv; u++) f.get(vp).mem(load, 16 * u).set(vx[u]!);
              for (let t = 0; t < 4; t++) {
                const ps = vec();
                f.get(sp).mem('v128.load32_splat', 4 * t).set(ps);
                for (let u = 0; u < nv; u++) f.get(acc[t]![u]!).get(ps, vx[u]!).op('f32x4.mul', 'f32x4.add').set(acc[t]![u]!);
              }
              f.get(vp, vv.sl).op('i32.add').set(vp);
              f.get(sp).i32(16).op('i32.add').set(sp);
            });
            for (let t = 0; t < 4; t++)
              for (let u = 0; u < nv; u++) {
                f.get(op[t]!, e).op('i32.add');
                if (width === 0) f.get(acc[t]![u]!).lane('f32x4.extract_lane', 0).mem('f32.store');
                else f.get(acc[t]![u]!).mem('v128.store', 16 * u);
              }
            f.get(e).i32(width === 0 ? 4 : 16 * nv).op('i32.add').set(e);
          };
          const cols = i32();
          f.i32(0).set(e);
          f.get(Dv).set(cols);
          loopBy(f, cols, 8, () => tile(2));
          loopBy(f, cols, 4, () => tile(1));
          loopBy(f, cols, 1, () => tile(0));
          f.get(vBase).get(j0, vv.sl).op('i32.mul', 'i32.sub').set(vBase);
          f.get(j0).i32(BLOCK).op('i32.add').set(j0);
          f.br(nextBlock);
        }),
      );
      // Divide each row by its sum (rows that saw no key keep 0).
      for (let t = 0; t < 4; t++) {
        const lt = f.local('f32');
        f.get(l).lane('f32x4.extract_lane', t).set(lt);
        f.get(lt).f32(0).op('f32.gt');
        f.if(() => {
          const [a, pd, cnt] = [vec(), i32(), i32()];
          f.f32(1).get(lt).op('f32.div', 'f32x4.splat').set(a);
          f.get(op[t]!).set(pd);
          f.get(Dv).set(cnt);
          loopBy(f, cnt, 4, () => {
            f.get(pd).get(pd).mem('v128.load').get(a).op('f32x4.mul').mem('v128.store');
            f.get(pd).i32(16).op('i32.add').set(pd);
          });
          loopBy(f, cnt, 1, () => {
            f.get(pd).get(pd).mem('f32.load').get(a).lane('f32x4.extract_lane', 0).op('f32.mul').mem('f32.store');
            f.get(pd).i32(4).op('i32.add').set(pd);
          });
        });
      }
      f.get(r).i32(1).op('i32.add').set(r);
      f.br(nextItem);
    }),
  );
}
