/** Options shared by layers that create parameters. */
import { getDefaultDtype, type DType, type Generator } from '@tessera/core';

export interface FactoryOptions {
  /** Parameter dtype (a float dtype; the default dtype otherwise). */
  dtype?: DType;
  /** Backend name for the parameters; the current backend otherwise. */
  device?: string;
  /** Generator for the random initialization; the default generator otherwise. */
  generator?: Generator;
}

/** Creation options (dtype and device) for a layer's parameters. */
export const paramOpts = (o: FactoryOptions) => ({ dtype: o.dtype ?? getDefaultDtype(), device: o.device });
