/** Embedding: a lookup table of learned vectors. */
import { ArgumentError, noGrad, Tensor, zeros } from '@tessera/core';
import { embedding, normalizePaddingIdx } from '../functional.js';
import { normal_ } from '../init.js';
import { Module, Parameter } from '../module.js';
import { paramOpts, type FactoryOptions } from './options.js';

export interface EmbeddingOptions extends FactoryOptions {
  /** Index whose row is initialized to zeros and receives no gradient (negative counts from the end). */
  paddingIdx?: number | null;
}

/** weight [numEmbeddings, embeddingDim] ~ N(0, 1) (the padding row zeroed); forward maps int32 indices to rows. */
export class Embedding extends Module {
  weight: Tensor;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    for (const [k, v] of Object.entries({ numEmbeddings, embeddingDim }))
      if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`Embedding: ${k} must be a non-negative integer, got ${v}`);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = opts.paddingIdx == null ? null : normalizePaddingIdx('Embedding', opts.paddingIdx, numEmbeddings);
    this.weight = Parameter(zeros([numEmbeddings, embeddingDim], paramOpts(opts)));
    this.resetParameters(opts);
  }

  resetParameters(opts: { generator?: FactoryOptions['generator'] } = {}): void {
    normal_(this.weight, 0, 1, { generator: opts.generator });
    if (this.paddingIdx !== null) noGrad(() => this.weight.select(0, this.paddingIdx!).zero_());
  }

  override forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, this.paddingIdx);
  }
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}` + (this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : '');
  }
}
