/** Every loss and reduction against PyTorch: forward value and gradient with respect to the input. */
import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, setBackend, ShapeError, tensor, type DType, type Tensor } from '@tessera/core';
import {
  BCEWithLogitsLoss, binaryCrossEntropyWithLogits, crossEntropy, CrossEntropyLoss, l1Loss, mseLoss, nllLoss,
  type CrossEntropyOptions,
} from '../src/index.js';
import { BACKENDS, hasFloat64 } from '../../../test/support/backends.js';
import { expectClose } from '../../../test/support/close.js';
import { fixture, fromFixture, type FT } from './helpers.js';

interface LossCase {
  name: string;
  fn: 'cross_entropy' | 'nll_loss' | 'mse_loss' | 'l1_loss' | 'binary_cross_entropy_with_logits';
  opts: Record<string, unknown>;
  input: FT;
  target: FT;
  gradOutput: FT;
  output: FT;
  inputGrad: FT;
}

const cases = fixture<LossCase[]>('losses.json');

/** PyTorch's snake_case options as Tessera's. */
function options(opts: Record<string, unknown>, dtype: DType): CrossEntropyOptions & { posWeight?: Tensor } {
  const t = (v: unknown) => fromFixture(v as FT, dtype);
  return {
    reduction: opts.reduction as 'mean' | 'sum' | 'none' | undefined,
    weight: opts.weight ? t(opts.weight) : undefined,
    posWeight: opts.pos_weight ? t(opts.pos_weight) : undefined,
    ignoreIndex: opts.ignore_index as number | undefined,
    labelSmoothing: opts.label_smoothing as number | undefined,
  };
}

describe.each(BACKENDS)('losses vs PyTorch (%s)', (backend) => {
  const dtype: DType = hasFloat64(backend) ? 'float64' : 'float32';
  const tol = dtype === 'float64' ? { atol: 1e-10, rtol: 1e-9 } : { atol: 2e-5, rtol: 2e-4 };

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    setBackend(backend);
    const x = fromFixture(c.input, dtype).requiresGrad_();
    const isClassIndex = c.target.data.every((v) => Number.isInteger(v)) && (c.fn === 'nll_loss' || (c.fn === 'cross_entropy' && c.target.shape.length < c.input.shape.length));
    const target = fromFixture(c.target, isClassIndex ? 'int32' : dtype);
    const o = options(c.opts, dtype);
    const out =
      c.fn === 'cross_entropy' ? crossEntropy(x, target, o)
      : c.fn === 'nll_loss' ? nllLoss(x, target, o)
      : c.fn === 'mse_loss' ? mseLoss(x, target, o)
      : c.fn === 'l1_loss' ? l1Loss(x, target, o)
      : binaryCrossEntropyWithLogits(x, target, o);
    expect(out.shape).toEqual(c.output.shape);
    expectClose(await out.data(), c.output.data, tol, `${c.name} value`);
    out.mul(fromFixture(c.gradOutput, dtype)).sum().backward();
    expectClose(await x.grad!.data(), c.inputGrad.data, tol, `${c.name} input grad`);
  });
});

describe('loss modules and errors', () => {
  it('module forms match the functions and register weights as buffers', async () => {
    const logits = tensor([[1, 2, 0.5], [0.1, -1, 2]]);
    const target = tensor([2, 0], { dtype: 'int32' });
    const w = tensor([1, 2, 3]);
    const m = new CrossEntropyLoss({ weight: w, labelSmoothing: 0.1 });
    expect(Object.keys(m.stateDict())).toEqual(['weight']);
    expect(await m.forward(logits, target).item()).toBeCloseTo(await crossEntropy(logits, target, { weight: w, labelSmoothing: 0.1 }).item(), 6);
    const bce = new BCEWithLogitsLoss({ posWeight: tensor([2, 1, 1]) });
    expect(await bce.forward(logits, tensor([[1, 0, 1], [0, 0, 1]])).item()).toBeGreaterThan(0);
    expect(String(m)).toBe("CrossEntropyLoss(labelSmoothing=0.1)");
  });

  it('every target ignored gives NaN for the mean, like PyTorch', async () => {
    const out = crossEntropy(tensor([[1, 2]]), tensor([-100], { dtype: 'int32' }));
    expect(Number.isNaN(await out.item())).toBe(true);
  });

  it('never silently wraps a negative class target: targets outside [0, C) are errors', () => {
    const x = tensor([[1, 2, 3], [0, 1, 0]]);
    expect(() => crossEntropy(x, tensor([-1, 1], { dtype: 'int32' }), { reduction: 'none' })).toThrow(/index -1 is out of bounds/);
    expect(() => nllLoss(x, tensor([-2, 0], { dtype: 'int32' }))).toThrow(/index -2 is out of bounds/);
    expect(() => crossEntropy(x, tensor([3, 0], { dtype: 'int32' }))).toThrow(/out of bounds/);
  });

  it('rejects bad shapes, dtypes and options with clear errors', () => {
    const x = tensor([[1, 2, 3]]);
    expect(() => crossEntropy(x, tensor([0, 1], { dtype: 'int32' }))).toThrow(ShapeError);
    expect(() => crossEntropy(x, tensor([0], { dtype: 'int32' }), { weight: tensor([1, 2]) })).toThrow(/weight must have shape \[3\]/);
    expect(() => crossEntropy(x, tensor([0], { dtype: 'int32' }), { reduction: 'avg' as never })).toThrow(ArgumentError);
    expect(() => crossEntropy(x, tensor([0], { dtype: 'int32' }), { labelSmoothing: 2 })).toThrow(ArgumentError);
    expect(() => nllLoss(x, tensor([0], { dtype: 'bool' }))).toThrow(DTypeError);
    expect(() => mseLoss(x, tensor([1, 2, 3]))).toThrow(/target shape \[3\] must equal the input shape \[1, 3\]/);
  });
});
