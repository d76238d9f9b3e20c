/**
 * Decode benchmark (not a test): for each attention module, the KV-cache bytes per token (measured on the cache
 * object, beside the spec's §10 formula) and the time to decode one token at context 1k and 4k on the current
 * backend, with the spec's §11 FLOPs per token.
 *
 *   npx tsx packages/attention/bench/decode.ts [--steps N] [--contexts 1024,4096] [--backend reference|cpu]
 *
 * The cache is filled with random keys/values of the context length (the values do not matter for timing), then
 * `steps` single-token forward calls are timed after one warm-up call (the median is reported). float32, batch 1, d = 512, 8 query heads of 64.
 */
import { parseArgs } from 'node:util';
import { Generator, getBackend, listBackends, noGrad, randn, setBackend, type Tensor } from '@tessera/core';
import {
  CrossAttention, crossLayerAttentionLayers, GroupedQueryAttention, kvCacheElementsPerToken, MultiQueryAttention, SigmoidAttention,
  SlidingWindowAttention, SparseQueryAttention, StaticKVCache, type AttentionCache, type FlopCount,
} from '../src/index.js';

const { values } = parseArgs({ options: { steps: { type: 'string' }, contexts: { type: 'string' }, backend: { type: 'string' } } });
// The workspace's CPU backend is not a dependency of this package: load it from its source folder when asked for.
if (values.backend === 'cpu' && !listBackends().includes('cpu')) await import(new URL('../../backend-cpu/src/index.ts', import.meta.url).href);
if (values.backend) setBackend(values.backend);
const STEPS = Number(values.steps ?? 8);
const CONTEXTS = (values.contexts ?? '1024,4096').split(',').map(Number);
const d = 512, H = 8, dh = 64, W = 512;
const BYTES = 4;
const gen = new Generator(0);
const rnd = (shape: number[]) => randn(shape, { generator: gen });

interface Row {
  name: string;
  /** Spec formula, elements per token per layer (averaged over layers for CLA; per source token for cross). */
  formula: string;
  formulaElements: number;
  /** Builds the module state for a context of P tokens and returns one decode step plus its measurements. */
  setup(P: number): { step: () => Tensor; bytesPerToken: number; bytesHeld: number; flops: FlopCount; perLayerDivisor?: number; dispose(): void };
}

/** Fills a self-attention cache with P random tokens. */
function filled(layer: GroupedQueryAttention, P: number): AttentionCache {
  const cache = layer.createCache({ capacity: P + STEPS + 2 });
  noGrad(() => cache.update(rnd([1, layer.numKvHeads, P, dh]), rnd([1, layer.numKvHeads, P, dh])));
  return cache;
}

function selfRow(name: string, formula: string, layer: GroupedQueryAttention): Row {
  return {
    name,
    formula,
    formulaElements: layer.kvCacheElementsPerToken(),
    setup(P) {
      const cache = filled(layer, P);
      return {
        step: () => noGrad(() => layer.forward(rnd([1, 1, d]), { cache })),
        bytesPerToken: cache.bytesPerToken(),
        bytesHeld: cache.bytes(),
        flops: layer.flopsPerToken(P + 1),
        dispose: () => cache.dispose(),
      };
    },
  };
}

const opts = { hiddenSize: d, numHeads: H, headDim: dh, generator: gen };
const [producer, consumer] = crossLayerAttentionLayers(2, 2, { ...opts, numKvHeads: 2 }) as [GroupedQueryAttention, GroupedQueryAttention];
const cross = new CrossAttention({ queryDim: d, numHeads: H, generator: gen });

const rows: Row[] = [
  selfRow('MHA (H_kv = H = 8)', '2·H·d_h', new GroupedQueryAttention({ ...opts })),
  selfRow('GQA (H_kv = 2)', '2·H_kv·d_h', new GroupedQueryAttention({ ...opts, numKvHeads: 2 })),
  selfRow('MQA (H_kv = 1)', '2·d_h', new MultiQueryAttention(opts)),
  selfRow('SQA (H_q = 4, H_kv = 2)', '2·H_kv·d_h', new SparseQueryAttention({ ...opts, numQueryHeads: 4, numKvHeads: 2 })),
  selfRow(`Sliding window W = ${W} (H_kv = 2)`, '2·H_kv·d_h, ≤ W tokens', new SlidingWindowAttention({ ...opts, numKvHeads: 2, slidingWindow: W })),
  selfRow('Sigmoid (H_kv = 8)', '2·H·d_h', new SigmoidAttention({ ...opts, sequenceLength: 4096 })),
  {
    name: 'CLA s = 2 (H_kv = 2), per layer',
    formula: '2·H_kv·d_h / s',
    formulaElements: kvCacheElementsPerToken({ numKvHeads: 2, headDim: dh }) / 2,
    setup(P) {
      const cache = filled(producer, P);
      const [pf, cf] = [producer.flopsPerToken(P + 1), consumer.flopsPerToken(P + 1)];
      return {
        step: () => noGrad(() => {
          const x = rnd([1, 1, d]);
          const r = producer.forwardWithKV(x, { cache });
          return consumer.forward(x.add(r.output), { sharedKV: r.kv });
        }),
        // Two layers share one cache and are timed together: report per-layer averages.
        bytesPerToken: cache.bytesPerToken() / 2,
        bytesHeld: cache.bytes() / 2,
        flops: { ...pf, total: (pf.total + cf.total) / 2 },
        perLayerDivisor: 2,
        dispose: () => cache.dispose(),
      };
    },
  },
  {
    name: 'Cross-attention (static, S_src = context)',
    formula: '2·H·d_h per source token',
    formulaElements: cross.kvCacheElementsPerSourceToken(),
    setup(P) {
      const cache = new StaticKVCache(rnd([1, H, P, dh]), rnd([1, H, P, dh]));
      return {
        step: () => noGrad(() => cross.forward(rnd([1, 1, d]), cache)),
        bytesPerToken: cache.bytesPerToken(),
        bytesHeld: cache.bytes(),
        flops: cross.flops(P).perQueryToken,
        dispose: () => cache.dispose(),
      };
    },
  },
];

/** Median milliseconds of one decode step (each step waits for its result, so queued backends are timed too). */
async function time(step: () => Tensor): Promise<number> {
  (await step().data(), undefined); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    const out = step();
    await out.data();
    samples.push(performance.now() - t0);
    out.dispose();
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`decode benchmark — backend '${getBackend().name}', float32, batch 1, d = ${d}, H = ${H}, d_h = ${dh}, ${STEPS} timed steps`);
console.log(`${'module'.padEnd(44)}${'spec formula'.padEnd(26)}${pad('formula B/tok', 14)}${pad('cache B/tok', 12)}` + CONTEXTS.map((P) => `${pad(`held@${P}`, 12)}${pad(`MFLOP@${P}`, 12)}${pad(`ms/tok@${P}`, 12)}`).join(''));
for (const row of rows) {
  let line = `${row.name.padEnd(44)}${row.formula.padEnd(26)}${pad(row.formulaElements * BYTES, 14)}`;
  const cells: string[] = [];
  let measured = 0;
  for (const P of CONTEXTS) {
    const s = row.setup(P);
    measured = s.bytesPerToken;
    const ms = (await time(s.step)) / (s.perLayerDivisor ?? 1);
    cells.push(`${pad(s.bytesHeld, 12)}${pad((s.flops.total / 1e6).toFixed(2), 12)}${pad(ms.toFixed(2), 12)}`);
    s.dispose();
  }
  line += pad(measured, 12) + cells.join('');
  console.log(line);
}
console.log('B/tok: bytes per token per layer per sequence (CLA: averaged over the two layers; cross-attention: per source token, computed once).');
console.log('held@P: bytes the cache holds at context P (sliding window keeps at most W tokens); MFLOP: spec §11 forward FLOPs for the decoded token.');
