/**
 * A test-only backend: the reference backend plus a naive fused `attention` kernel (plain loops), registered as
 * 'reference-fused-attention'. Running the suites on it exercises scaledDotProductAttention's fused dispatch and
 * its recomputing backward.
 */
import { ReferenceBackend, registerBackend, listBackends, type BackendBuffer, type FusedKernels, type View } from '@tessera/core';

export const FUSED_BACKEND = 'reference-fused-attention';

class FusedAttentionBackend extends ReferenceBackend {
  override readonly name = FUSED_BACKEND;
  /** How many times the fused kernel ran (tests assert the dispatch happened). */
  calls = 0;
  override readonly fused: FusedKernels = {
    attention: (q: View, k: View, v: View, mask: View | null, isCausal: boolean, scale: number): BackendBuffer => {
      this.calls++;
      const [B, H, L, D] = q.shape as [number, number, number, number];
      const [S, Dv] = [k.shape[2]!, v.shape[3]!];
      const [qd, kd, vd] = [this.readSync(q), this.readSync(k), this.readSync(v)];
      const md = mask ? this.readSync(mask) : null;
      const ms = mask?.shape ?? [1, 1, 1, 1];
      // Row-major strides of the (contiguously read) mask, 0 on broadcast dims.
      const mStride = [ms[1]! * ms[2]! * ms[3]!, ms[2]! * ms[3]!, ms[3]!, 1].map((s, i) => (ms[i] === 1 ? 0 : s));
      const out = new Float64Array(B * H * L * Dv);
      const w = new Float64Array(S);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let i = 0; i < L; i++) {
            let max = -Infinity;
            for (let j = 0; j < S; j++) {
              let s = 0;
              for (let e = 0; e < D; e++) s += qd[((b * H + h) * L + i) * D + e]! * kd[((b * H + h) * S + j) * D + e]!;
              s *= scale;
              if (md) s += md[b * mStride[0]! + h * mStride[1]! + i * mStride[2]! + j * mStride[3]!]!;
              if (isCausal && j > i) s = -Infinity;
              w[j] = s;
              max = Math.max(max, s);
            }
            let sum = 0;
            for (let j = 0; j < S; j++) sum += w[j] = Math.exp(w[j]! - max);
            for (let j = 0; j < S; j++)
              for (let e = 0; e < Dv; e++) out[((b * H + h) * L + i) * Dv + e]! += (w[j]! / sum) * vd[((b * H + h) * S + j) * Dv + e]!;
          }
      return this.upload(out, q.dtype);
    },
  };
}

export const fusedBackend = new FusedAttentionBackend();
if (!listBackends().includes(FUSED_BACKEND)) registerBackend(fusedBackend, -1);
