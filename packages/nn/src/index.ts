/**
 * @tessera/nn — neural-network building blocks on @tessera/core, shaped like torch.nn / torch.optim:
 * modules with registration by assignment, layers with PyTorch's default initializations, losses, initializers,
 * optimizers, learning-rate schedulers, and safetensors checkpoints that move weights to and from PyTorch.
 */

/** Errors: StateDictError (loadStateDict), SafetensorsError (malformed files), CheckpointError (training state). */
export { StateDictError, SafetensorsError, CheckpointError, type SafetensorsErrorCode, type ShapeMismatch } from './errors.js';

/** Module base class, Parameter marker and state-dict types. */
export {
  Module, Parameter, isParameter,
  type StateDict, type LoadStateDictOptions, type LoadStateDictResult, type ModuleTarget,
} from './module.js';

/** Functional layers (torch.nn.functional): linear, embedding, dropout. */
export { linear, embedding, dropout, type DropoutOptions } from './functional.js';

/** Layers. */
export type { FactoryOptions } from './layers/options.js';
export { Linear, Identity, type LinearOptions } from './layers/linear.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { LayerNorm, RMSNorm, type LayerNormOptions, type RMSNormOptions } from './layers/normalization.js';
export {
  ReLU, GELU, SiLU, Tanh, Sigmoid, LeakyReLU, Softplus, Dropout, activationFromName,
  type ActivationName, type DropoutLayerOptions,
} from './layers/activation.js';
export { MLP, SwiGLUMLP, type MLPOptions, type SwiGLUOptions } from './layers/mlp.js';
export { Sequential, ModuleList, ModuleDict } from './layers/container.js';

/** Losses, functional and as modules, with reduction 'mean' | 'sum' | 'none'. */
export {
  crossEntropy, nllLoss, mseLoss, l1Loss, binaryCrossEntropyWithLogits,
  type Reduction, type CrossEntropyOptions, type NLLLossOptions, type ElementwiseLossOptions, type BCEWithLogitsOptions,
} from './losses.js';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCEWithLogitsLoss } from './layers/loss.js';

/** Initializers (torch.nn.init), in place under noGrad, seeded by an optional generator. */
export {
  uniform_, normal_, truncNormal_, constant_, zeros_, ones_, xavierUniform_, xavierNormal_, kaimingUniform_, kaimingNormal_,
  calculateGain, calculateFanInAndFanOut, erfinv,
  type InitOptions, type KaimingOptions, type FanMode, type Nonlinearity,
} from './init.js';

/** Optimizers with parameter groups and state dicts, and gradient clipping. */
export { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState, type OptimizerStateDict } from './optim/optimizer.js';
export { SGD, type SGDOptions, type SGDGroup } from './optim/sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamGroup } from './optim/adam.js';
export { clipGradNorm_, clipGradValue_ } from './optim/clip.js';

/** Learning-rate schedulers (closed-form, composable, resumable). */
export { LRScheduler, LambdaLR, type SchedulerStateDict } from './schedulers/base.js';
export {
  StepLR, ExponentialLR, LinearWarmup, LinearLR, CosineAnnealingLR, CosineWithWarmup,
  type LinearWarmupOptions, type CosineWithWarmupOptions,
} from './schedulers/basic.js';
export { OneCycleLR, type OneCycleOptions } from './schedulers/onecycle.js';
export { SequentialLR, ChainedScheduler } from './schedulers/compose.js';

/** safetensors: the byte format (validating parser, reference-layout writer) and file I/O. */
export {
  parseSafetensorsBytes, serializeSafetensors, parseHeader, readHeaderLength, MAX_HEADER_BYTES,
  type RawTensor, type HeaderEntry, type ParsedHeader, type TensorToWrite,
} from './safetensors/format.js';
export { FILE_DTYPES, FILE_DTYPE_OF, type FileDType } from './safetensors/dtypes.js';
export {
  loadSafetensors, loadSafetensorsFromBytes, saveSafetensors, saveSafetensorsToBytes, readSafetensorsHeader, writeFileAtomic,
  type LoadOptions, type LoadedSafetensors,
} from './safetensors/io.js';

/** Training-state checkpoints (model, optimizer, scheduler, step, RNG) with bit-identical resume. */
export { saveTrainingState, loadTrainingState, type TrainingState, type LoadTrainingStateOptions, type LoadedTrainingState } from './checkpoint.js';
