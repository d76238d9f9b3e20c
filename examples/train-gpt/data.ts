/**
 * Character-level data: the corpus text, its vocabulary (every distinct character, sorted by code point), and random
 * training windows cut on the device from one int32 tensor of the whole text.
 *
 * The default corpus needs no download: `lib.es5.d.ts` from the `typescript` package (about 220 kB of JSDoc
 * English and declarations), which pnpm installs as a dependency of the examples.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arange, randint, tensor, type Generator, type Tensor } from '@tessera/core';

export const DEFAULT_CORPUS = 'typescript/lib/lib.es5.d.ts';

/** Path of the default corpus inside node_modules. */
export function defaultCorpusPath(): string {
  return createRequire(import.meta.url).resolve(DEFAULT_CORPUS);
}

/** Reads a text corpus; the default one drops its licence header so training starts on the real text. */
export function readCorpus(path: string | undefined): { text: string; source: string } {
  if (path === undefined) {
    const file = defaultCorpusPath();
    const text = readFileSync(file, 'utf8');
    const start = text.indexOf('/////////////////////////////');
    return { text: start > 0 ? text.slice(start) : text, source: `${DEFAULT_CORPUS} (from the typescript package)` };
  }
  return { text: readFileSync(path, 'utf8'), source: path };
}

/** Maps characters to ids and back. Characters outside the vocabulary encode as id 0. */
export class CharVocab {
  readonly chars: string[];
  private readonly index: Map<string, number>;

  constructor(chars: Iterable<string>) {
    this.chars = [...chars];
    this.index = new Map(this.chars.map((c, i) => [c, i]));
  }

  static fromText(text: string): CharVocab {
    return new CharVocab([...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  get size(): number {
    return this.chars.length;
  }

  encode(text: string): Int32Array {
    return Int32Array.from([...text], (c) => this.index.get(c) ?? 0);
  }

  decode(ids: Iterable<number>): string {
    let s = '';
    for (const i of ids) s += this.chars[i] ?? '?';
    return s;
  }

  /** The characters as one string (what checkpoints store). */
  toString(): string {
    return this.chars.join('');
  }
}

/** Characters per piece of the train/validation split. */
const SPLIT_PIECE = 4096;

/**
 * Train/validation split of the encoded text, held on the device, and random [B, T] windows from it. The text is
 * cut into pieces of 4096 characters and every k-th piece goes to validation, so both splits sample the whole text
 * (the end of a file is often unlike its start).
 */
export class CharDataset {
  readonly train: Tensor;
  readonly val: Tensor;

  constructor(ids: Int32Array, valFraction: number, device?: string) {
    const every = Math.max(2, Math.round(1 / valFraction));
    const pieces = Math.ceil(ids.length / SPLIT_PIECE);
    const train: number[] = [];
    const val: number[] = [];
    for (let p = 0; p < pieces; p++) {
      const piece = ids.subarray(p * SPLIT_PIECE, (p + 1) * SPLIT_PIECE);
      // Short texts (a few pieces) still get a validation part: the tail of the last piece.
      if (pieces >= every && p % every === every - 1) val.push(...piece);
      else train.push(...piece);
    }
    if (val.length === 0) val.push(...train.splice(Math.floor(train.length * (1 - valFraction))));
    this.train = tensor(Int32Array.from(train), { dtype: 'int32', device });
    this.val = tensor(Int32Array.from(val), { dtype: 'int32', device });
  }

  /** Inputs x and next-character targets y, int32 [B, T], from random offsets drawn with `generator`. */
  batch(split: 'train' | 'val', batchSize: number, blockSize: number, generator: Generator): { x: Tensor; y: Tensor } {
    const data = split === 'train' ? this.train : this.val;
    const n = data.shape[0]!;
    if (n < blockSize + 2) throw new Error(`the ${split} text has ${n} characters, fewer than the block size ${blockSize} + 2`);
    const starts = randint(0, n - blockSize - 1, [batchSize, 1], { generator, device: data.device });
    const idx = starts.add(arange(blockSize + 1, undefined, 1, { device: data.device })).to('int32');
    const windows = data.indexSelect(0, idx.flatten()).reshape(batchSize, blockSize + 1);
    return { x: windows.narrow(1, 0, blockSize).contiguous(), y: windows.narrow(1, 1, blockSize).contiguous() };
  }

  dispose(): void {
    this.train.dispose();
    this.val.dispose();
  }
}
