/**
 * Panel packing for the matmul kernel (see matmul.ts): A into MR-row panels and B into NR-column panels, both
 * k-major and zero-padded at the edges, so the micro-kernel reads them with unit stride. float32 operands that are
 * contiguous along the right axis are packed with vector copies or 4×4 in-register transposes.
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import type { PlainOp } from '../wasm/opcodes.js';
import { loopBy } from './nest.js';

export interface MatmulConfig {
  dtype: 'float32' | 'float64';
  MR: number;
  /** v128 vectors per row of the tile. */
  NV: number;
  KC: number;
  MC: number;
  NC: number;
  relaxed: boolean;
  /** Packing fast paths: A contiguous along k (row-major) or m, B contiguous along n (row-major) or k. */
  aContigK: boolean;
  aContigM: boolean;
  bContigN: boolean;
  bContigK: boolean;
}

export const lanesOf = (c: MatmulConfig) => (c.dtype === 'float32' ? 4 : 2);
export const nrOf = (c: MatmulConfig) => c.NV * lanesOf(c);

/** i8x16.shuffle byte indices from 32-bit lane indices (0–3 first operand, 4–7 second). */
const lanes32 = (...l: number[]) => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

/** Transposes four f32x4 rows (locals v) into four columns (locals o), via t as scratch. */
function transpose4(f: Fn, v: Local[], t: Local[], o: Local[]): void {
  f.get(v[0]!, v[1]!).shuffle(lanes32(0, 4, 1, 5)).set(t[0]!);
  f.get(v[2]!, v[3]!).shuffle(lanes32(0, 4, 1, 5)).set(t[1]!);
  f.get(v[0]!, v[1]!).shuffle(lanes32(2, 6, 3, 7)).set(t[2]!);
  f.get(v[2]!, v[3]!).shuffle(lanes32(2, 6, 3, 7)).set(t[3]!);
  f.get(t[0]!, t[1]!).shuffle(lanes32(0, 1, 4, 5)).set(o[0]!);
  f.get(t[0]!, t[1]!).shuffle(lanes32(2, 3, 6, 7)).set(o[1]!);
  f.get(t[2]!, t[3]!).shuffle(lanes32(0, 1, 4, 5)).set(o[2]!);
  f.get(t[2]!, t[3]!).shuffle(lanes32(2, 3, 6, 7)).set(o[3]!);
}

const v128s = (f: Fn, n: number) => Array.from({ length: n }, () => f.local('v128'));

export class PackGen {
  readonly e: number;
  readonly lanes: number;
  readonly NR: number;
  readonly t: 'f32' | 'f64';
  readonly vt: 'f32x4' | 'f64x2';
  constructor(
    readonly m: KernelModule,
    readonly c: MatmulConfig,
  ) {
    this.e = c.dtype === 'float32' ? 4 : 8;
    this.lanes = lanesOf(c);
    this.NR = nrOf(c);
    this.t = c.dtype === 'float32' ? 'f32' : 'f64';
    this.vt = c.dtype === 'float32' ? 'f32x4' : 'f64x2';
  }
  protected op(name: string): PlainOp {
    return `${this.t}.${name}` as PlainOp;
  }
  protected vop(name: string): PlainOp {
    return `${this.vt}.${name}` as PlainOp;
  }
  load(f: Fn, offset = 0): void {
    f.mem(this.t === 'f32' ? 'f32.load' : 'f64.load', offset);
  }
  store(f: Fn, offset = 0): void {
    f.mem(this.t === 'f32' ? 'f32.store' : 'f64.store', offset);
  }
  zero(f: Fn): void {
    if (this.t === 'f32') f.f32(0);
    else f.f64(0);
  }

  /** packA(src, mc, kc, dst, sam, sak): MR-row panels, k-major, rows past mc zero. */
  packA(): Fn {
    const { c, e } = this;
    const { MR } = c;
    const f = this.m.func(['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], []);
    const [src, mc, kc, dst, sam, sak] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
    const [ir, h, k, s, d, rowSrc] = Array.from({ length: 6 }, () => f.local('i32'));
    f.i32(0).set(ir!);
    f.block((exit) =>
      f.loop((next) => {
        f.get(ir!, mc).op('i32.ge_s').brIf(exit);
        // h = min(MR, mc − ir)
        f.get(mc, ir!).op('i32.sub').i32(MR).get(mc, ir!).op('i32.sub').i32(MR).op('i32.lt_s', 'select').set(h!);
        // d = dst + ir·kc·e (panel start)
        f.get(dst, ir!, kc).op('i32.mul').i32(e).op('i32.mul', 'i32.add').set(d!);
        f.get(src, ir!, sam).op('i32.mul', 'i32.add').set(rowSrc!);
        const vectorA = this.t === 'f32' && MR >= 4 && (c.aContigK || c.aContigM);
        const groups = Math.floor(MR / 4);
        if (vectorA) {
          f.get(h!).i32(MR).op('i32.eq').if(() => {
            if (c.aContigK) {
              // Full panel of a row-major A: 4×4 transposes per group of four rows (leftover rows one by one),
              // then a scalar tail in k.
              const rows = Array.from({ length: MR }, () => f.local('i32'));
              rows.forEach((rp, i) => f.get(rowSrc!).i32(i).get(sam).op('i32.mul', 'i32.add').set(rp));
              f.get(kc).set(k!);
              const [v, t, o] = [v128s(f, 4), v128s(f, 4), v128s(f, 4)];
              loopBy(f, k!, 4, () => {
                for (let g = 0; g < groups; g++) {
                  for (let i = 0; i < 4; i++) f.get(rows[4 * g + i]!).mem('v128.load').set(v[i]!);
                  transpose4(f, v, t, o);
                  o.forEach((ov, i) => f.get(d!, ov).mem('v128.store', (i * MR + 4 * g) * 4));
                }
                for (let r = 4 * groups; r < MR; r++)
                  for (let i = 0; i < 4; i++) {
                    f.get(d!).get(rows[r]!);
                    this.load(f, 4 * i);
                    this.store(f, (i * MR + r) * 4);
                  }
                for (const rp of rows) f.get(rp).i32(16).op('i32.add').set(rp);
                f.get(d!).i32(16 * MR).op('i32.add').set(d!);
              });
              loopBy(f, k!, 1, () => {
                rows.forEach((rp, i) => {
                  f.get(d!).get(rp);
                  this.load(f);
                  this.store(f, i * 4);
                  f.get(rp).i32(4).op('i32.add').set(rp);
                });
                f.get(d!).i32(4 * MR).op('i32.add').set(d!);
              });
            } else {
              // Full panel of a column-major A (Aᵀ stored row-major): the MR values of each k are adjacent.
              f.get(rowSrc!).set(s!);
              f.get(kc).set(k!);
              loopBy(f, k!, 1, () => {
                for (let g = 0; g < groups; g++) f.get(d!).get(s!).mem('v128.load', 16 * g).mem('v128.store', 16 * g);
                for (let r = 4 * groups; r < MR; r++) {
                  f.get(d!).get(s!);
                  this.load(f, 4 * r);
                  this.store(f, 4 * r);
                }
                f.get(s!, sak).op('i32.add').set(s!);
                f.get(d!).i32(4 * MR).op('i32.add').set(d!);
              });
            }
          });
          f.get(h!).i32(MR).op('i32.ne');
        } else f.i32(1);
        f.if(() => {
          // General panel: for each k, MR values (zero past h).
          f.i32(0).set(k!);
          f.block((done) =>
            f.loop((nextK) => {
              f.get(k!, kc).op('i32.ge_s').brIf(done);
              f.get(rowSrc!, k!, sak).op('i32.mul', 'i32.add').set(s!);
              for (let i = 0; i < MR; i++) {
                f.get(d!);
                f.get(h!).i32(i).op('i32.gt_s').if(
                  () => {
                    f.get(s!);
                    this.load(f);
                  },
                  () => this.zero(f),
                  this.t,
                );
                this.store(f, i * e);
                if (i < MR - 1) f.get(s!, sam).op('i32.add').set(s!);
              }
              f.get(d!).i32(MR * e).op('i32.add').set(d!);
              f.get(k!).i32(1).op('i32.add').set(k!);
              f.br(nextK);
            }),
          );
        });
        f.get(ir!).i32(MR).op('i32.add').set(ir!);
        f.br(next);
      }),
    );
    return f;
  }

  /** packB(src, kc, nc, dst, sbk, sbn): NR-column panels, k-major, columns past nc zero. */
  packB(): Fn {
    const { c, e, NR } = this;
    const f = this.m.func(['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], []);
    const [src, kc, nc, dst, sbk, sbn] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
    const [jr, w, k, s, d, col, cc] = Array.from({ length: 7 }, () => f.local('i32'));
    f.i32(0).set(jr!);
    f.block((exit) =>
      f.loop((next) => {
        f.get(jr!, nc).op('i32.ge_s').brIf(exit);
        f.get(nc, jr!).op('i32.sub').i32(NR).get(nc, jr!).op('i32.sub').i32(NR).op('i32.lt_s', 'select').set(w!);
        f.get(dst, jr!, kc).op('i32.mul').i32(e).op('i32.mul', 'i32.add').set(d!);
        f.get(src, jr!, sbn).op('i32.mul', 'i32.add').set(col!);
        if (c.bContigN) {
          // Full panel of a row-major B: NR contiguous values per k, copied as vectors.
          f.get(w!).i32(NR).op('i32.eq').if(() => {
            f.get(kc).set(k!);
            f.get(col!).set(s!);
            loopBy(f, k!, 1, () => {
              for (let v = 0; v < c.NV; v++) f.get(d!).get(s!).mem('v128.load', v * 16).mem('v128.store', v * 16);
              f.get(s!, sbk).op('i32.add').set(s!);
              f.get(d!).i32(NR * e).op('i32.add').set(d!);
            });
          });
          f.get(w!).i32(NR).op('i32.ne');
        } else f.i32(1);
        f.if(() => {
          if (c.bContigK && this.t === 'f32') {
            // Full panel of a column-major B (Bᵀ stored row-major, as in x·Wᵀ): 4×4 transposes of column groups.
            f.get(w!).i32(NR).op('i32.eq').if(() => {
              const cols = Array.from({ length: NR }, () => f.local('i32'));
              cols.forEach((cp, i) => f.get(col!).i32(i).get(sbn).op('i32.mul', 'i32.add').set(cp));
              f.get(kc).set(k!);
              f.get(d!).set(s!);
              const [v, t, o] = [v128s(f, 4), v128s(f, 4), v128s(f, 4)];
              loopBy(f, k!, 4, () => {
                for (let g = 0; g < c.NV; g++) {
                  for (let j = 0; j < 4; j++) f.get(cols[4 * g + j]!).mem('v128.load').set(v[j]!);
                  transpose4(f, v, t, o);
                  o.forEach((ov, i) => f.get(s!, ov).mem('v128.store', (i * NR + 4 * g) * 4));
                }
                for (const cp of cols) f.get(cp).i32(16).op('i32.add').set(cp);
                f.get(s!).i32(4 * NR * 4).op('i32.add').set(s!);
              });
              loopBy(f, k!, 1, () => {
                cols.forEach((cp, i) => {
                  f.get(s!).get(cp);
                  this.load(f);
                  this.store(f, i * 4);
                  f.get(cp).i32(4).op('i32.add').set(cp);
                });
                f.get(s!).i32(NR * 4).op('i32.add').set(s!);
              });
            });
            f.get(w!).i32(NR).op('i32.ne');
          } else f.i32(1);
          f.if(() => {
            if (c.bContigK) this.packColumns(f, { kc, w, col, d, k, s, cc, sbk, sbn });
            else this.packRows(f, { kc, w, col, d, k, s, sbk, sbn });
          });
        });
        f.get(jr!).i32(NR).op('i32.add').set(jr!);
        f.br(next);
      }),
    );
    return f;
  }

  /** B contiguous along k: read down each column, write every NR-th slot; zero the missing columns. */
  private packColumns(f: Fn, l: Record<'kc' | 'w' | 'col' | 'd' | 'k' | 's' | 'cc' | 'sbk' | 'sbn', Local>): void {
    const { e, NR } = this;
    const { kc, w, col, d, k, s, cc, sbk, sbn } = l;
    f.i32(0).set(cc);
    f.block((done) =>
      f.loop((nextC) => {
        f.get(cc).i32(NR).op('i32.ge_s').brIf(done);
        f.get(d, cc).i32(e).op('i32.mul', 'i32.add').set(s);
        f.get(kc).set(k);
        f.get(cc, w).op('i32.lt_s').if(
          () => {
            const p = f.local('i32');
            f.get(col, cc, sbn).op('i32.mul', 'i32.add').set(p);
            loopBy(f, k, 1, () => {
              f.get(s).get(p);
              this.load(f);
              this.store(f);
              f.get(p, sbk).op('i32.add').set(p);
              f.get(s).i32(NR * e).op('i32.add').set(s);
            });
          },
          () =>
            loopBy(f, k, 1, () => {
              f.get(s);
              this.zero(f);
              this.store(f);
              f.get(s).i32(NR * e).op('i32.add').set(s);
            }),
        );
        f.get(cc).i32(1).op('i32.add').set(cc);
        f.br(nextC);
      }),
    );
  }

  /** General B: for each k, NR values (zero past w). */
  private packRows(f: Fn, l: Record<'kc' | 'w' | 'col' | 'd' | 'k' | 's' | 'sbk' | 'sbn', Local>): void {
    const { e, NR } = this;
    const { kc, w, col, d, k, s, sbk, sbn } = l;
    f.i32(0).set(k);
    f.block((done) =>
      f.loop((nextK) => {
        f.get(k, kc).op('i32.ge_s').brIf(done);
        f.get(col, k, sbk).op('i32.mul', 'i32.add').set(s);
        for (let i = 0; i < NR; i++) {
          f.get(d);
          f.get(w).i32(i).op('i32.gt_s').if(
            () => {
              f.get(s);
              this.load(f);
            },
            () => this.zero(f),
            this.t,
          );
          this.store(f, i * e);
          if (i < NR - 1) f.get(s, sbn).op('i32.add').set(s);
        }
        f.get(d).i32(NR * e).op('i32.add').set(d);
        f.get(k).i32(1).op('i32.add').set(k);
        f.br(nextK);
      }),
    );
  }
}
