/**
 * @tessera/core — strided tensors, broadcasting, dtype promotion, reverse-mode autograd with higher-order
 * gradients, the backend interface and the reference backend.
 */
import './ops/methods.js';
import { ReferenceBackend } from './backend/reference/index.js';
import { registerBackend } from './backend/registry.js';

export { Tensor, scope, keep, type TensorLike, type NestedArray, type GradHook } from './tensor.js';
export * from './errors.js';
export { DTYPES, type DType, type TypedArray, promoteTypes, resultType, getDefaultDtype, setDefaultDtype, isFloat } from './dtype.js';
export { float16Bits, float16FromBits, roundFloat16, roundFloat16Array, FLOAT16_MAX } from './float16.js';
export { broadcastShapes, type Shape } from './shape.js';
export { Generator, manualSeed, defaultGenerator, hash32, randomWords, uniformFromWords, normalFromWords } from './random.js';
export type { Backend, BackendBuffer, View, UnaryOp, BinaryOp, ReduceOp, RandomKind, FusedKernels, BackendCapabilities, AdamStepHyper, ActivationKind, CapturedWork, NormBackwardWants } from './backend/interface.js';
export { UNARY_OPS, BINARY_OPS } from './backend/interface.js';
export { registerBackend, setBackend, getBackend, backendByName, listBackends, memoryStats } from './backend/registry.js';
export { ReferenceBackend } from './backend/reference/index.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/mode.js';
export { Node } from './autograd/node.js';
export { backward, grad, valueAndGrad, vjp, type BackwardOptions, type GradOptions } from './autograd/engine.js';
export { customFunction, type FunctionContext, type FunctionDefinition } from './autograd/function.js';
export { toDot, type DotOptions } from './autograd/dot.js';

export * from './ops/creation.js';
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, logicalXor, logicalNot,
  isnan, where, neg, abs, sign, floor, ceil, round, exp, log, log1p, expm1, sqrt, rsqrt, sin, cos, tanh, sigmoid, erf,
  reciprocal, square, relu, gelu, silu, leakyRelu, softplus, clamp,
} from './ops/elementwise.js';
export {
  sum, mean, prod, amax, amin, maxDim, minDim, argmax, argmin, all, any, variance, std, logsumexp, norm, sumTo,
  type Dims, type ValuesIndices, type VarOptions,
} from './ops/reduce.js';
export {
  view, reshape, flatten, unflatten, squeeze, unsqueeze, permute, transpose, expand, narrow, select, slice, flip,
  diagonal, asStrided, contiguous, clone, detach,
} from './ops/views.js';
export { gather, scatter, scatterAdd, indexSelect, indexAdd, maskedFill, triu, tril, oneHot, cumsum, sort, argsort, topk, type SortResult } from './ops/indexing.js';
export { cat, stack, split, chunk, pad, repeat, repeatInterleave, type PadMode } from './ops/join.js';
export { matmul, matmulNT, einsum, dot, outer } from './ops/linalg.js';
export { softmax, logSoftmax, layerNorm, rmsNorm, scaledDotProductAttention, type AttentionOptions } from './ops/fused.js';
export { adamStep_ } from './ops/optim.js';
export { toDtype, toDevice, toAsync, type ToTarget } from './ops/cast.js';
export { capture, CapturedStep, type CaptureOptions, type CaptureResult } from './capture.js';
export { formatTensor } from './print.js';
export type { IndexSpec } from './ops/methods.js';

registerBackend(new ReferenceBackend(), 0);
