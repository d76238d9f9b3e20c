/** Every benchmark case, in the order the tables list them. Add a file here and list it below. */
import type { BenchCase } from '../harness.js';
import { attentionCases, webgpuAttentionCases } from './attention.js';
import { elementwiseCases } from './elementwise.js';
import { gptCases, webgpuGptCases } from './gpt.js';
import { matmulCases, webgpuMatmulCases } from './matmul.js';
import { mqarCases } from './mqar.js';

/** Case groups that `--cases` selects by name. */
export const CPU_CASES: Record<string, BenchCase[]> = {
  matmul: matmulCases,
  attention: attentionCases,
  gpt: gptCases,
  fma: elementwiseCases,
  mqar: mqarCases,
};

export const WEBGPU_CASES: Record<string, BenchCase[]> = {
  matmul: webgpuMatmulCases,
  attention: webgpuAttentionCases,
  gpt: webgpuGptCases,
};
