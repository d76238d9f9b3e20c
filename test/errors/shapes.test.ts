/** Invalid shapes: every op names itself and the shapes involved, and throws ShapeError. */
import { describe, it } from 'vitest';
import {
  cat, dot, einsum, layerNorm, matmul, ones, scaledDotProductAttention, ShapeError, stack, tensor, where, zeros,
} from '@tessera/core';
import { BACKENDS } from '../support/backends.js';
import { useBackend } from '../conformance/helpers.js';
import { expectError, expectRejection } from './expect-error.js';

const i32 = (v: number[] | number[][]) => tensor(v, { dtype: 'int32' });

describe.each(BACKENDS)('shape errors (%s)', (name) => {
  useBackend(name);

  it('broadcast mismatch names both shapes and the dim', () => {
    expectError(() => ones([2, 3]).add(ones([4])), ShapeError, 'add', '[2, 3]', '[4]', 'not broadcastable', 'dim -1', '3 and 4');
    expectError(() => ones([2, 3]).mul(ones([3, 2])), ShapeError, 'mul', '[2, 3]', '[3, 2]');
    expectError(() => ones([2]).lt(ones([3])), ShapeError, 'lt', '[2]', '[3]');
    expectError(() => where(tensor([true, false, true]), ones([2]), 0), ShapeError, 'where', '[3]', '[2]');
    expectError(() => ones([3]).expand(4), ShapeError, 'expand', '[3]', '[4]');
    expectError(() => ones([2]).maskedFill(tensor([[true, false], [true, true]]), 0), ShapeError, 'maskedFill', '[2, 2]', '[2]');
    expectError(() => ones([2]).copy_(ones([3])), ShapeError, 'copy_', '[2]', '[3]');
  });

  it('matmul: inner dims, 0-dim operands, batch dims', () => {
    expectError(() => ones([2, 3]).matmul(ones([4, 2])), ShapeError, 'matmul', '[2, 3]', '[4, 2]', '3 vs 4');
    expectError(() => matmul(ones([3]), ones([2])), ShapeError, 'matmul', '[3]', '[2]');
    expectError(() => matmul(tensor(1), ones([2])), ShapeError, 'matmul', '[]', 'at least 1 dim');
    expectError(() => ones([2, 2, 3]).matmul(ones([3, 3, 1])), ShapeError, 'matmul', '[2, 2, 3]', '[3, 3, 1]', 'not broadcastable');
    expectError(() => dot(ones([3]), ones([2, 3])), ShapeError, 'dot', '[3]', '[2, 3]', '1-D');
    expectError(() => einsum('ij,jk->ik', ones([2, 3]), ones([4, 2])), ShapeError, 'einsum', "'j'", '3 and 4');
    expectError(() => einsum('ijk', ones([2, 3])), ShapeError, 'einsum', "'ijk'", '[2, 3]');
  });

  it('view on non-viewable strides, reshape/view element-count mismatch', () => {
    expectError(() => ones([3, 4]).T.view(12), ShapeError, 'view', '[12]', '[4, 3]', 'strides [1, 4]', 'reshape');
    expectError(() => ones([3, 4]).reshape(5, 2), ShapeError, 'reshape', '[5, 2]', '[3, 4]', '12 elements');
    expectError(() => ones([3, 4]).view(5, -1), ShapeError, 'view', '[5, -1]', '[3, 4]');
    expectError(() => ones([3, 4]).reshape(-1, -1), ShapeError, 'reshape', 'only one dimension can be -1');
    expectError(() => ones([6]).unflatten(0, [4, -1]), ShapeError, 'unflatten', '[4, -1]');
  });

  it('cat/stack/split with mismatched shapes', () => {
    expectError(() => cat([ones([2, 3]), ones([2, 4])], 0), ShapeError, 'cat', '[2, 3]', '[2, 4]', 'dim 0');
    expectError(() => cat([ones([2, 3]), ones([3])], 0), ShapeError, 'cat', '[2, 3]', '[3]');
    expectError(() => stack([ones([2]), ones([3])]), ShapeError, 'stack', '[2]', '[3]');
    expectError(() => ones([3]).split([1, 1]), ShapeError, 'split', '[1, 1]', 'sum to 3', '[3]');
  });

  it('gather/scatter/indexSelect/indexAdd index shapes', () => {
    expectError(() => ones([2, 3]).gather(1, i32([0, 1])), ShapeError, 'gather', 'index [2]', 'input [2, 3]', '1 dims', 'has 2');
    expectError(() => ones([2, 3]).gather(1, zeros([3, 1], { dtype: 'int32' })), ShapeError, 'gather', '[3, 1]', '[2, 3]', 'dim 0');
    expectError(() => ones([3]).scatter(0, i32([0, 1]), ones([1])), ShapeError, 'scatter', 'index [2]', 'src [1]');
    expectError(() => ones([3]).scatterAdd(0, i32([[0]]), ones([1, 1])), ShapeError, 'scatterAdd', '[1, 1]', '[3]');
    expectError(() => ones([3, 2]).indexSelect(0, i32([[0]])), ShapeError, 'indexSelect', '1-D', '[1, 1]');
    expectError(() => ones([3, 2]).indexAdd(0, i32([0]), ones([1, 3])), ShapeError, 'indexAdd', '[1, 3]', '[1, 2]', '[3, 2]');
  });

  it('fused ops, tensor creation and misc shapes', async () => {
    expectError(() => layerNorm(ones([2, 3]), [4]), ShapeError, 'layerNorm', '[4]', '[2, 3]');
    expectError(() => layerNorm(ones([2, 3]), [3], ones([2])), ShapeError, 'layerNorm', 'weight', '[2]', '[3]');
    expectError(() => scaledDotProductAttention(ones([2, 3]), ones([2, 4]), ones([2, 3])), ShapeError, 'scaledDotProductAttention', '[2, 3]', '[2, 4]');
    expectError(() => tensor([[1, 2], [3]]), ShapeError, 'tensor', 'ragged', '[1]');
    expectError(() => tensor(new Float32Array(3), { shape: [2, 2] }), ShapeError, 'tensor', '[2, 2]', '4 values', 'got 3');
    expectError(() => ones([3]).triu(), ShapeError, 'triu', '[3]', 'at least 2 dims');
    await expectRejection(ones([2]).item(), ShapeError, 'item', '[2]');
    expectError(() => zeros([0]).amax(), ShapeError, 'amax', 'zero-size', '[0]');
    expectError(() => zeros([2, 0]).max(1), ShapeError, 'max', 'zero-size', '[2, 0]');
    expectError(() => zeros([0, 2]).argmin(0), ShapeError, 'argmin', '[0, 2]');
    expectError(() => ones([2]).repeatInterleave([1, 2, 3]), ShapeError, 'repeatInterleave', '3 repeat counts', 'size 2');
  });
});
