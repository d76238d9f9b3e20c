/** Titans (spec §8): the neural long-term memory, its memory networks and scans, persistent memory, MAC / MAG / MAL. */
export { linearScan, linearScanSequential } from './scan.js';
export { MemoryMLP, linearMemory, geluDerivative, type MemoryMLPOptions } from './memory.js';
export {
  NeuralMemory, detachMemoryState,
  type NeuralMemoryOptions, type NeuralMemoryState, type NeuralMemoryForwardOptions, type NeuralMemoryOutput, type GateOverrides,
} from './neural-memory.js';
export { PersistentWindowAttention, persistentWindowMask, type PersistentWindowAttentionOptions, type WindowAttentionState } from './window-attention.js';
export {
  MemoryAsGate, MemoryAsLayer,
  type TitansLayerOptions, type SlidingWindowTitansOptions, type SlidingWindowTitansState,
} from './mag-mal.js';
export { MemoryAsContext, type MemoryAsContextOptions, type MemoryAsContextState } from './mac.js';
