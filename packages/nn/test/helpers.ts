/** Fixture loading for the nn suites: PyTorch golden values from test/fixtures/nn (see scripts/make_nn_fixtures.py). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tensor, type DType, type Tensor } from '@tessera/core';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/nn/', import.meta.url));

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(FIXTURE_DIR + name, 'utf8')) as T;
}

/** A tensor in a fixture: shape plus flat row-major data. */
export interface FT {
  shape: number[];
  data: (number | boolean)[];
}

/** A Tessera tensor from a fixture tensor, in the given dtype (integers default to int32). */
export function fromFixture(f: FT, dtype?: DType, device?: string): Tensor {
  const isInt = f.data.every((v) => typeof v === 'number' && Number.isInteger(v));
  const d: DType = dtype ?? (typeof f.data[0] === 'boolean' ? 'bool' : isInt ? 'int32' : 'float64');
  return tensor(f.data.map(Number) as number[], { dtype: d, device }).reshape(f.shape);
}

/** A state dict from fixture tensors. */
export function stateDictFrom(params: Record<string, FT>, dtype: DType, device?: string): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, fromFixture(v, dtype, device)]));
}
