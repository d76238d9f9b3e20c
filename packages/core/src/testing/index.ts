/**
 * @tessera/core/testing — tools for testing code built on Tessera: finite-difference gradient checks
 * ({@link gradcheck}, {@link gradgradcheck}), float32-backend comparison against the float64 reference
 * ({@link compareGradients}), and fast-check arbitraries for shapes, broadcasts and strided tensors.
 */
export {
  gradcheck,
  gradgradcheck,
  gradFunction,
  unravelIndex,
  GradcheckError,
  type GradcheckFn,
  type GradcheckOptions,
  type GradgradcheckOptions,
} from './gradcheck.js';
export { compareGradients, type CompareGradientsOptions } from './compare.js';
export {
  shapeArb,
  broadcastShapesArb,
  broadcastPairArb,
  broadcastTripleArb,
  valuesArb,
  tensorArb,
  stridedTensorArb,
  broadcastTensorsArb,
  NONCONTIGUOUS_LAYOUTS,
  ALL_LAYOUTS,
  type ShapeOptions,
  type ValueOptions,
  type TensorArbOptions,
  type Layout,
} from './arbitraries.js';
