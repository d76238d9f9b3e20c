/**
 * Materializing a transposed view (the pattern of `.contiguous()` after transpose/permute): the output's last two
 * dims [R, C] are read from x with x's stride 1 along R and a large stride along C. An element-by-element copy
 * touches a new cache line per element; here the R×C plane is copied in 16×16 tiles, and 4-byte elements move as
 * 4×4 blocks through f32x4 shuffles. The loop nest covers the leading dims (one plane per position).
 *
 * Extra descriptor words: R, C, x's byte stride along C.
 */
import type { KernelModule } from '../kernel-cache.js';
import type { Fn, Local } from '../wasm/func.js';
import { emitNest, loopBy, type StrideClass } from './nest.js';

const TILE = 16;
const lanes32 = (...l: number[]) => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

export interface TransposeSpec {
  /** Element size in bytes. */
  elem: 1 | 4 | 8;
  nd: number;
  classes: readonly StrideClass[];
}

function copyElem(f: Fn, elem: number, dst: Local, src: Local): void {
  f.get(dst, src);
  if (elem === 1) f.mem('i32.load8_u').mem('i32.store8');
  else if (elem === 4) f.mem('i32.load').mem('i32.store');
  else f.mem('f64.load').mem('f64.store');
}

export function buildTranspose(m: KernelModule, spec: TransposeSpec): void {
  const e = spec.elem;
  emitNest(
    m,
    spec.nd,
    2,
    ({ f, q, n, s, extra }) => {
      const [R, C, xc] = extra as [Local, Local, Local];
      const [i0, j0, iEnd, jEnd, i, j, src, dst, ldo] = Array.from({ length: 9 }, () => f.local('i32'));
      const v = Array.from({ length: 12 }, () => f.local('v128'));
      f.get(C).i32(e).op('i32.mul').set(ldo);
      const min = (a: Local, b: Local, out: Local) => f.get(a, b, a, b).op('i32.lt_s', 'select').set(out);
      const forRange = (x: Local, from: () => void, to: Local, step: number, body: () => void) => {
        from();
        f.set(x);
        f.block((exit) =>
          f.loop((next) => {
            f.get(x, to).op('i32.ge_s').brIf(exit);
            body();
            f.get(x).i32(step).op('i32.add').set(x);
            f.br(next);
          }),
        );
      };
      loopBy(f, n, 1, () => {
        forRange(i0, () => f.i32(0), R, TILE, () => {
          f.get(i0).i32(TILE).op('i32.add').set(iEnd);
          min(iEnd, R, iEnd);
          forRange(j0, () => f.i32(0), C, TILE, () => {
            f.get(j0).i32(TILE).op('i32.add').set(jEnd);
            min(jEnd, C, jEnd);
            // out[i, j] = x[i·e + j·xc] within the tile; 4×4 vector blocks where they fit, elements elsewhere.
            f.get(i0).set(i);
            if (e === 4) {
              f.block((done) =>
                f.loop((nextI) => {
                  f.get(i).i32(4).op('i32.add').get(iEnd).op('i32.gt_s').brIf(done);
                  f.get(j0).set(j);
                  f.block((doneJ) =>
                    f.loop((nextJ) => {
                      f.get(j).i32(4).op('i32.add').get(jEnd).op('i32.gt_s').brIf(doneJ);
                      f.get(q[1]!).get(i).i32(4).op('i32.mul', 'i32.add').get(j, xc).op('i32.mul', 'i32.add').set(src);
                      for (let k = 0; k < 4; k++) {
                        f.get(src).mem('v128.load').set(v[k]!);
                        if (k < 3) f.get(src, xc).op('i32.add').set(src);
                      }
                      // v[k] holds column j+k for rows i..i+3; transpose into rows.
                      f.get(v[0]!, v[1]!).shuffle(lanes32(0, 4, 1, 5)).set(v[4]!);
                      f.get(v[2]!, v[3]!).shuffle(lanes32(0, 4, 1, 5)).set(v[5]!);
                      f.get(v[0]!, v[1]!).shuffle(lanes32(2, 6, 3, 7)).set(v[6]!);
                      f.get(v[2]!, v[3]!).shuffle(lanes32(2, 6, 3, 7)).set(v[7]!);
                      f.get(q[0]!).get(i, ldo).op('i32.mul', 'i32.add').get(j).i32(4).op('i32.mul', 'i32.add').set(dst);
                      const rows: [number, number, number[]][] = [[4, 5, [0, 1, 4, 5]], [4, 5, [2, 3, 6, 7]], [6, 7, [0, 1, 4, 5]], [6, 7, [2, 3, 6, 7]]];
                      rows.forEach(([a, b, lanes], k) => {
                        f.get(dst).get(v[a]!, v[b]!).shuffle(lanes32(...lanes)).mem('v128.store');
                        if (k < 3) f.get(dst, ldo).op('i32.add').set(dst);
                      });
                      f.get(j).i32(4).op('i32.add').set(j);
                      f.br(nextJ);
                    }),
                  );
                  // Columns left over at the tile's right edge.
                  const r = f.local('i32');
                  forRange(r, () => f.get(i), iEnd, 1, () => {
                    const jj = f.local('i32');
                    f.block((stop) => {
                      f.get(r).get(i).i32(4).op('i32.add').op('i32.ge_s').brIf(stop);
                      forRange(jj, () => f.get(j), jEnd, 1, () => {
                        f.get(q[0]!).get(r, ldo).op('i32.mul', 'i32.add').get(jj).i32(4).op('i32.mul', 'i32.add').set(dst);
                        f.get(q[1]!).get(r).i32(4).op('i32.mul', 'i32.add').get(jj, xc).op('i32.mul', 'i32.add').set(src);
                        copyElem(f, 4, dst, src);
                      });
                    });
                  });
                  f.get(i).i32(4).op('i32.add').set(i);
                  f.br(nextI);
                }),
              );
            }
            // Remaining rows of the tile (all of it for 1- and 8-byte elements), element by element.
            forRange(i, () => f.get(i), iEnd, 1, () => {
              forRange(j, () => f.get(j0), jEnd, 1, () => {
                f.get(q[0]!).get(i, ldo).op('i32.mul', 'i32.add').get(j).i32(e).op('i32.mul', 'i32.add').set(dst);
                f.get(q[1]!).get(i).i32(e).op('i32.mul', 'i32.add').get(j, xc).op('i32.mul', 'i32.add').set(src);
                copyElem(f, e, dst, src);
              });
            });
          });
        });
        for (let k = 0; k < 2; k++) f.get(q[k]!, s[k]!).op('i32.add').set(q[k]!);
      });
    },
    3,
  );
}
