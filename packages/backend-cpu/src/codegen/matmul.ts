/**
 * Packed, cache-blocked, register-tiled matmul (the GotoBLAS/BLIS loop structure), for float32 (f32x4) and float64
 * (f64x2). C[M×N] = A[M×K]·B[K×N] with arbitrary element strides on A and B (transposes are just strides):
 *
 *   for each column block jc (NC wide) and depth block pc (KC deep):
 *     pack B[pc.., jc..] into NR-column panels (k-major)            — stays in L2/L3
 *     for each row block ic (MC tall):
 *       pack A[ic.., pc..] into MR-row panels (k-major)             — stays in L2
 *       for each NR panel jr, each MR panel ir: micro-kernel        — B panel stays in L1
 *
 * The micro-kernel keeps an MR×NR tile of C in MR·NV v128 accumulators (NR = NV·lanes), reading one NR-wide row
 * of B and broadcasting MR values of A per k step; it uses f32x4.relaxed_madd where the runtime has relaxed
 * SIMD, mul+add otherwise. Edge tiles run the same kernel into a scratch tile and copy the valid
 * part. The first depth block stores C, later ones add to it.
 *
 * The launcher picks MR = 4, NV = 2 (4×8 for float32): V8 keeps xmm15 as scratch, and 8 accumulators plus the 6
 * loads of one k step (and one product without FMA) are what fits the other 15 without spilling.
 *
 * Work split: tasks are (batch, row chunk, column chunk) triples; each thread packs its own panels in its scratch
 * block, so threads share nothing but the inputs. Descriptor words: see MatmulDesc.
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import { loopBy } from './nest.js';
import { lanesOf, nrOf, PackGen, type MatmulConfig } from './matmul-pack.js';

export { lanesOf, nrOf, type MatmulConfig };

/** Descriptor word indices. */
export const MatmulDesc = {
  M: 0, N: 1, K: 2, SAM: 3, SAK: 4, SBK: 5, SBN: 6, M_CHUNKS: 7, CHUNK_ROWS: 8, N_CHUNKS: 9, CHUNK_COLS: 10,
  BATCH_TABLE: 11, C: 12, C_BATCH_STRIDE: 13, WORDS: 14,
} as const;

export const matmulKey = (c: MatmulConfig) =>
  `mm:${c.dtype}:${c.MR}x${c.NV}:${c.KC},${c.MC},${c.NC}:${c.relaxed ? 'r' : 'p'}:${+c.aContigK}${+c.aContigM}${+c.bContigN}${+c.bContigK}`;

/** Scratch bytes per thread: packed A block, packed B block, one edge tile. */
export const matmulScratchBytes = (c: MatmulConfig) => (c.MC * c.KC + c.KC * c.NC + c.MR * nrOf(c)) * (c.dtype === 'float32' ? 4 : 8) + 256;

class Gen extends PackGen {
  /** micro(pa, pb, c, ldc, kc, accumulate): the MR×NR tile at c (row stride ldc bytes) = or += Apanel·Bpanel. */
  micro(): Fn {
    const { c, e, NR } = this;
    const { MR, NV } = c;
    const f = this.m.func(['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], []);
    const [pa, pb, cp, ldc, kc, accumulate] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
    const acc = Array.from({ length: MR }, () => Array.from({ length: NV }, () => f.local('v128')));
    const b = Array.from({ length: NV }, () => f.local('v128'));
    const a = f.local('v128');
    for (const row of acc) for (const v of row) f.v128(new Uint8Array(16)).set(v);
    const splat = this.t === 'f32' ? 'v128.load32_splat' : 'v128.load64_splat';
    // One k step per loop iteration, not unrolled: V8's TurboFan issues every load of an unrolled body first, and
    // the extra live values (unrolled ×4: 24 loads beside the 8 accumulators) spill to the stack each iteration;
    // rolled, loads + accumulators + one product fit V8's 15 usable xmm registers (measured 28 → 36 GFLOP/s).
    loopBy(f, kc, 1, () => {
      for (let v = 0; v < NV; v++) f.get(pb).mem('v128.load', v * this.lanes * e).set(b[v]!);
      for (let r = 0; r < MR; r++) {
        f.get(pa).mem(splat, r * e).set(a);
        for (let v = 0; v < NV; v++) {
          if (c.relaxed) f.get(a, b[v]!, acc[r]![v]!).op(this.vop('relaxed_madd')).set(acc[r]![v]!);
          else f.get(a, b[v]!).op(this.vop('mul')).get(acc[r]![v]!).op(this.vop('add')).set(acc[r]![v]!);
        }
      }
      f.get(pa).i32(MR * e).op('i32.add').set(pa);
      f.get(pb).i32(NR * e).op('i32.add').set(pb);
    });
    const row = f.local('i32');
    f.get(cp).set(row);
    for (let r = 0; r < MR; r++) {
      for (let v = 0; v < NV; v++) {
        f.get(accumulate).if(() => f.get(acc[r]![v]!).get(row).mem('v128.load', v * 16).op(this.vop('add')).set(acc[r]![v]!));
        f.get(row, acc[r]![v]!).mem('v128.store', v * 16);
      }
      f.get(row, ldc).op('i32.add').set(row);
    }
    return f;
  }

  /** Adds (or stores) the valid h×w corner of the scratch tile into C. */
  edgeCopy(): Fn {
    const { e, NR } = this;
    const f = this.m.func(['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], []);
    const [tile, cp, ldc, h, w, accumulate] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
    const [r, j, src, dst] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
    const x = f.local(this.t);
    f.get(h).set(r);
    loopBy(f, r, 1, () => {
      f.get(tile).set(src);
      f.get(cp).set(dst);
      f.get(w).set(j);
      loopBy(f, j, 1, () => {
        f.get(src);
        this.load(f);
        f.set(x);
        f.get(accumulate).if(() => {
          f.get(x, dst);
          this.load(f);
          f.op(this.op('add')).set(x);
        });
        f.get(dst, x);
        this.store(f);
        f.get(src).i32(e).op('i32.add').set(src);
        f.get(dst).i32(e).op('i32.add').set(dst);
      });
      f.get(tile).i32(NR * e).op('i32.add').set(tile);
      f.get(cp, ldc).op('i32.add').set(cp);
    });
    return f;
  }
}
export function buildMatmul(m: KernelModule, c: MatmulConfig): void {
  const g = new Gen(m, c);
  const micro = g.micro().ref;
  const packA = g.packA().ref;
  const packB = g.packB().ref;
  const edge = g.edgeCopy().ref;
  const { e, NR } = g;
  const { MR, KC, MC, NC } = c;
  const f = m.func(['i32', 'i32', 'i32', 'i32'], [], 'run');
  const [desc, lo, hi, scratch] = f.params as [Local, Local, Local, Local];
  const word = (i: number) => {
    const l = f.local('i32');
    f.get(desc).mem('i32.load', 4 * i).set(l);
    return l;
  };
  const D = MatmulDesc;
  const [M, N, K, sam, sak, sbk, sbn] = [word(D.M), word(D.N), word(D.K), word(D.SAM), word(D.SAK), word(D.SBK), word(D.SBN)];
  const [mChunks, chunkRows, nChunks, chunkCols] = [word(D.M_CHUNKS), word(D.CHUNK_ROWS), word(D.N_CHUNKS), word(D.CHUNK_COLS)];
  const [table, cBase, cBatch] = [word(D.BATCH_TABLE), word(D.C), word(D.C_BATCH_STRIDE)];
  const bufA = scratch;
  const bufB = f.local('i32');
  const tile = f.local('i32');
  f.get(scratch).i32(MC * KC * e).op('i32.add').set(bufB);
  f.get(bufB).i32(KC * NC * e).op('i32.add').set(tile);
  const i32 = () => f.local('i32');
  const [t, batch, rem, i0, i1, j0, j1, aB, bB, cB, ldc] = Array.from({ length: 11 }, i32);
  const [jc, nc, pc, kc, ic, mc, jr, ir, h, w, cTile] = Array.from({ length: 11 }, i32);
  const min = (a: Local, b: Local, out: Local) => f.get(a, b, a, b).op('i32.lt_s', 'select').set(out);
  /** for (v = from; v < to; v += step) body */
  const forStep = (v: Local, from: () => void, to: Local, step: number | Local, body: () => void) => {
    from();
    f.set(v);
    f.block((exit) =>
      f.loop((next) => {
        f.get(v, to).op('i32.ge_s').brIf(exit);
        body();
        f.get(v);
        if (typeof step === 'number') f.i32(step);
        else f.get(step);
        f.op('i32.add').set(v);
        f.br(next);
      }),
    );
  };
  f.get(N).i32(e).op('i32.mul').set(ldc);
  forStep(t, () => f.get(lo), hi, 1, () => {
    // Task t → (batch, row chunk, column chunk).
    f.get(t, mChunks).get(nChunks).op('i32.mul', 'i32.div_u').set(batch);
    f.get(t, mChunks).get(nChunks).op('i32.mul', 'i32.rem_u').set(rem);
    f.get(rem, nChunks).op('i32.div_u', ).get(chunkRows).op('i32.mul').set(i0);
    f.get(rem, nChunks).op('i32.rem_u').get(chunkCols).op('i32.mul').set(j0);
    f.get(i0, chunkRows).op('i32.add').set(i1);
    min(i1, M, i1);
    f.get(j0, chunkCols).op('i32.add').set(j1);
    min(j1, N, j1);
    f.get(table, batch).i32(8).op('i32.mul', 'i32.add').mem('i32.load').set(aB);
    f.get(table, batch).i32(8).op('i32.mul', 'i32.add').mem('i32.load', 4).set(bB);
    f.get(cBase, batch, cBatch).op('i32.mul', 'i32.add').set(cB);
    forStep(jc, () => f.get(j0), j1, NC, () => {
      f.get(j1, jc).op('i32.sub').set(nc);
      f.get(nc).i32(NC).get(nc).i32(NC).op('i32.lt_s', 'select').set(nc);
      forStep(pc, () => f.i32(0), K, KC, () => {
        f.get(K, pc).op('i32.sub').set(kc);
        f.get(kc).i32(KC).get(kc).i32(KC).op('i32.lt_s', 'select').set(kc);
        // packB(B + pc·sbk + jc·sbn, kc, nc, bufB, sbk, sbn)
        f.get(bB, pc, sbk).op('i32.mul', 'i32.add').get(jc, sbn).op('i32.mul', 'i32.add');
        f.get(kc, nc, bufB, sbk, sbn).call(packB);
        forStep(ic, () => f.get(i0), i1, MC, () => {
          f.get(i1, ic).op('i32.sub').set(mc);
          f.get(mc).i32(MC).get(mc).i32(MC).op('i32.lt_s', 'select').set(mc);
          f.get(aB, ic, sam).op('i32.mul', 'i32.add').get(pc, sak).op('i32.mul', 'i32.add');
          f.get(mc, kc, bufA, sam, sak).call(packA);
          forStep(jr, () => f.i32(0), nc, NR, () => {
            forStep(ir, () => f.i32(0), mc, MR, () => {
              // cTile = C + (ic + ir)·ldc + (jc + jr)·e
              f.get(cB).get(ic, ir).op('i32.add').get(ldc).op('i32.mul', 'i32.add');
              f.get(jc, jr).op('i32.add').i32(e).op('i32.mul', 'i32.add').set(cTile);
              f.get(mc, ir).op('i32.sub').set(h);
              f.get(nc, jr).op('i32.sub').set(w);
              // Panels: A at bufA + ir·kc·e, B at bufB + jr·kc·e.
              const panels = () => {
                f.get(bufA, ir, kc).op('i32.mul').i32(e).op('i32.mul', 'i32.add');
                f.get(bufB, jr, kc).op('i32.mul').i32(e).op('i32.mul', 'i32.add');
              };
              f.get(h).i32(MR).op('i32.ge_s').get(w).i32(NR).op('i32.ge_s', 'i32.and');
              f.if(
                () => {
                  panels();
                  f.get(cTile, ldc, kc, pc).call(micro);
                },
                () => {
                  panels();
                  f.get(tile).i32(NR * e).get(kc).i32(0).call(micro);
                  f.get(tile, cTile, ldc).get(h).i32(MR).get(h).i32(MR).op('i32.lt_s', 'select');
                  f.get(w).i32(NR).get(w).i32(NR).op('i32.lt_s', 'select').get(pc).call(edge);
                },
              );
            });
          });
        });
      });
    });
  });
}
