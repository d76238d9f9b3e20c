/** Every benchmark case, in the order the table lists them. Add a file here and list it below. */
import { elementwiseCases } from './elementwise.js';
import { matmulCases } from './matmul.js';
import { mlpCases } from './mlp.js';
import { softmaxCases } from './softmax.js';

export const ALL_CASES = [...matmulCases, ...elementwiseCases, ...softmaxCases, ...mlpCases];
