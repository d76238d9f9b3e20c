/** The fast-check arbitraries of @tessera/core/testing generate what their options promise. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastShapes } from '../src/index.js';
import {
  ALL_LAYOUTS,
  broadcastPairArb,
  broadcastShapesArb,
  broadcastTensorsArb,
  broadcastTripleArb,
  NONCONTIGUOUS_LAYOUTS,
  shapeArb,
  stridedTensorArb,
  tensorArb,
  valuesArb,
  type Layout,
} from '../src/testing/index.js';

const runs = { numRuns: 30 };

describe('testing arbitraries', () => {
  it('shapeArb stays within its bounds', () => {
    const opts = { minDims: 1, maxDims: 4, minSide: 1, maxSide: 5, maxSize: 20 };
    fc.assert(
      fc.property(shapeArb(opts), (s) => {
        expect(s.length).toBeGreaterThanOrEqual(1);
        expect(s.length).toBeLessThanOrEqual(4);
        expect(s.every((v) => v >= 1 && v <= 5)).toBe(true);
        expect(s.reduce((a, b) => a * b, 1)).toBeLessThanOrEqual(20);
      }),
      runs,
    );
  });

  it('broadcast pairs and triples broadcast together', () => {
    fc.assert(fc.property(broadcastPairArb(), ([a, b]) => void broadcastShapes('test', a, b)), runs);
    fc.assert(fc.property(broadcastTripleArb({ maxDims: 4 }), ([a, b, c]) => void broadcastShapes('test', a, b, c)), runs);
    fc.assert(fc.property(broadcastShapesArb(5), (shapes) => {
      expect(shapes).toHaveLength(5);
    }), runs);
  });

  it('valuesArb honours min, max and minAbs', () => {
    fc.assert(
      fc.property(valuesArb(20, { min: -1, max: 3, minAbs: 0.5 }), (vs) => {
        expect(vs.every((v) => v >= -1 && v <= 3 && Math.abs(v) >= 0.5)).toBe(true);
      }),
      runs,
    );
  });

  it('valuesArb on a grid: offsets keep two grids apart, distinct values never repeat', () => {
    fc.assert(
      fc.property(valuesArb(10, { step: 0.25, offset: 0.125 }), (vs) => {
        expect(vs.every((v) => Math.abs(((v - 0.125) / 0.25) % 1) < 1e-9)).toBe(true);
      }),
      runs,
    );
    fc.assert(fc.property(valuesArb(12, { distinct: true }), (vs) => {
      expect(new Set(vs).size).toBe(12);
    }), runs);
    expect(() => valuesArb(10, { min: 0, max: 1, step: 0.5, distinct: true })).toThrow(/only 3 grid values/);
  });

  it('tensorArb makes float64 leaves that require grad, with the requested shape', () => {
    fc.assert(
      fc.property(tensorArb({ shape: [2, 3], requiresGrad: true }), (t) => {
        expect(t.shape).toEqual([2, 3]);
        expect(t.dtype).toBe('float64');
        expect(t.requiresGrad && t.isLeaf).toBe(true);
      }),
      runs,
    );
    fc.assert(fc.property(tensorArb({ dtype: 'int32', min: -3, max: 3 }), (t) => {
      expect(Array.from(t.dataSync()).every(Number.isInteger)).toBe(true);
    }), runs);
  });

  it('every layout holds exactly the drawn logical values (a permutation of 1..n here)', () => {
    for (const layout of ALL_LAYOUTS.filter((l) => l !== 'expanded')) {
      const arb = tensorArb({ shape: [2, 3, 2], layouts: [layout], min: 1, max: 12, step: 1, distinct: true });
      fc.assert(
        fc.property(arb, (t) => {
          const vs = Array.from(t.dataSync()).sort((a, b) => a - b);
          expect(vs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
        }),
        { numRuns: 10 },
      );
    }
  });

  it('non-contiguous layouts really are strided, offset or expanded', () => {
    const strided = (t: { isContiguous(): boolean; offset: number; strides: readonly number[] }) => !t.isContiguous() || t.offset !== 0;
    for (const layout of NONCONTIGUOUS_LAYOUTS) {
      const expectStrided: Layout[] = ['transposed', 'stepped', 'flipped', 'mixed', 'expanded', 'offset'];
      fc.assert(
        fc.property(tensorArb({ shape: [3, 4], layouts: [layout] }), (t) => {
          if (expectStrided.includes(layout)) expect(strided(t), `${layout}: strides ${t.strides}, offset ${t.offset}`).toBe(true);
          if (layout === 'expanded') expect(t.strides).toContain(0);
        }),
        { numRuns: 10 },
      );
    }
    fc.assert(fc.property(stridedTensorArb({ shape: [2, 2], requiresGrad: true }), (t) => {
      expect(t.isLeaf && t.requiresGrad).toBe(true);
    }), runs);
  });

  it('broadcastTensorsArb applies shared and per-operand options', () => {
    fc.assert(
      fc.property(broadcastTensorsArb(2, { requiresGrad: true }, [{ min: 5, max: 6 }, { min: -6, max: -5 }]), ([a, b]) => {
        broadcastShapes('test', a!.shape, b!.shape);
        expect(Array.from(a!.dataSync()).every((v) => v >= 5 && v <= 6)).toBe(true);
        expect(Array.from(b!.dataSync()).every((v) => v >= -6 && v <= -5)).toBe(true);
        expect(a!.requiresGrad && b!.requiresGrad).toBe(true);
      }),
      runs,
    );
  });

  it('generated tensors print their values and layout in counterexamples', () => {
    const [t] = fc.sample(tensorArb({ shape: [2], layouts: ['flipped'], min: 1, max: 1 }), 1);
    expect(fc.stringify(t)).toMatch(/tensor\(\[1,1\], shape=\[2\], strides=\[-1\], offset=1, layout=flipped, dtype=float64\)/);
  });
});
