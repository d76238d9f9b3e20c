/** Invalid dims (out of range, repeated) and invalid dtypes: the op, the dim/dtype and the expectation are named. */
import { describe, it } from 'vitest';
import {
  ArgumentError, DTypeError, gather, indexSelect, matmul, oneHot, ones, rand, setDefaultDtype, tensor, zeros,
} from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { useBackend } from '../conformance/helpers.js';
import { expectError } from './expect-error.js';

describe.each(BACKENDS)('dim errors (%s)', (name) => {
  useBackend(name);
  const x = () => ones([2, 3]);

  it('dims out of range name the dim, the rank and the valid range', () => {
    expectError(() => x().sum(2), ArgumentError, 'sum', 'dim 2', '2 dims', '-2 to 1');
    expectError(() => x().softmax(-3), ArgumentError, 'softmax', 'dim -3', '-2 to 1');
    expectError(() => x().transpose(0, 5), ArgumentError, 'transpose', 'dim 5');
    expectError(() => x().cumsum(2), ArgumentError, 'cumsum', 'dim 2');
    expectError(() => x().unsqueeze(3), ArgumentError, 'unsqueeze', 'dim 3', '-3 to 2');
    expectError(() => x().squeeze(4), ArgumentError, 'squeeze', 'dim 4');
    expectError(() => x().max(2), ArgumentError, 'max', 'dim 2');
    expectError(() => x().argmax(-5), ArgumentError, 'argmax', 'dim -5');
    expectError(() => x().flip(3), ArgumentError, 'flip', 'dim 3');
    expectError(() => x().sort(2), ArgumentError, 'sort', 'dim 2');
    expectError(() => x().select(2, 0), ArgumentError, 'select', 'dim 2');
    expectError(() => x().var(1.5), ArgumentError, 'var', 'dim 1.5');
    expectError(() => x().flatten(1, 0), ArgumentError, 'flatten', 'startDim 1', 'endDim 0');
  });

  it('repeated dims and non-permutations', () => {
    expectError(() => x().sum([0, -2]), ArgumentError, 'sum', '[0,-2]', 'repeated');
    expectError(() => x().mean([1, 1]), ArgumentError, 'mean', 'repeated');
    expectError(() => x().permute(0, 0), ArgumentError, 'permute', '[0, 0]', 'not a permutation', '[2, 3]');
    expectError(() => x().permute(0), ArgumentError, 'permute', '[0]', '2 dims');
    expectError(() => x().diagonal(0, 1, -1), ArgumentError, 'diagonal', 'must differ');
  });
});

describe.each(BACKENDS)('dtype errors (%s)', (name) => {
  useBackend(name);
  const ints = () => tensor([1, 2], { dtype: 'int32' });

  it('requiresGrad on non-float tensors', () => {
    expectError(() => tensor([1], { dtype: 'int32', requiresGrad: true }), DTypeError, 'tensor', 'floating-point', 'int32');
    expectError(() => ints().requiresGrad_(), DTypeError, 'requiresGrad_', 'int32');
    expectError(() => tensor([true]).requiresGrad_(), DTypeError, 'requiresGrad_', 'bool');
    expectError(() => zeros([2], { dtype: 'int32', requiresGrad: true }), DTypeError, 'full', 'int32');
  });

  it('float-only ops on integer and bool inputs', () => {
    expectError(() => ints().mean(), DTypeError, 'mean', 'floating-point', 'int32');
    expectError(() => ints().norm(), DTypeError, 'norm', 'int32');
    expectError(() => tensor([true]).softmax(), DTypeError, 'softmax', 'bool');
    expectError(() => tensor([true]).logSoftmax(), DTypeError, 'logSoftmax', 'bool');
    expectError(() => rand([2], { dtype: 'int32' }), DTypeError, 'rand', 'int32');
    expectError(() => setDefaultDtype('int32'), DTypeError, 'setDefaultDtype', 'int32');
  });

  it('bool arithmetic that PyTorch rejects', () => {
    expectError(() => tensor([true]).sub(tensor([false])), DTypeError, 'sub', 'bool');
    expectError(() => tensor([true]).sub(true), DTypeError, 'sub', 'bool');
    expectError(() => tensor([true]).pow(tensor([false])), DTypeError, 'pow', 'bool');
    expectError(() => matmul(tensor([[true]]), tensor([[true]])), ArgumentError, 'matmul', 'bool');
  });

  it('indices must be int32, masks must be bool', () => {
    expectError(() => gather(ones([2]), 0, tensor([0])), DTypeError, 'gather', 'int32', 'float32');
    expectError(() => indexSelect(ones([2]), 0, tensor([0], { dtype: 'float32' })), DTypeError, 'indexSelect', 'int32', 'float32');
    expectError(() => ones([2]).scatter(0, tensor([true]), 1), DTypeError, 'scatter', 'bool');
    expectError(() => ones([2]).scatterAdd(0, tensor([0]), ones([1])), DTypeError, 'scatterAdd', 'float32');
    expectError(() => oneHot(tensor([1]), 3), DTypeError, 'oneHot', 'float32');
    expectError(() => ones([2]).maskedFill(tensor([1, 0]), 0), DTypeError, 'maskedFill', 'bool', 'float32');
    expectError(() => ones([2]).to('bfloat16' as never), ArgumentError, 'to', "'bfloat16'", 'neither a dtype', 'float32', name);
  });
});
