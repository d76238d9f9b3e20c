/** Sampling filters and generate(): greedy with/without the cache, seeded sampling, top-k/top-p, EOS stopping. */
import { describe, expect, it } from 'vitest';
import { Generator, memoryStats, setBackend, tensor } from '@tessera/core';
import { DecoderLM, generate, sampleNextToken, topKFilter, topPFilter } from '../src/index.js';
import { BACKENDS } from '../../../test/support/backends.js';
import { testFloat } from './helpers.js';

describe.each(BACKENDS)('sampling (%s)', (backend) => {
  it('top-k keeps the k largest logits; top-p keeps the smallest nucleus reaching p', async () => {
    setBackend(backend);
    const logits = tensor([[1, 3, 2, 0]], { dtype: testFloat() });
    expect([...(await topKFilter(logits, 2).data())]).toEqual([-Infinity, 3, 2, -Infinity]);
    // softmax([1,3,2,0]) ≈ [0.087, 0.644, 0.237, 0.032]: p = 0.7 needs the top two tokens.
    expect([...(await topPFilter(logits, 0.7).data())]).toEqual([-Infinity, 3, 2, -Infinity]);
    expect([...(await topPFilter(logits, 0.5).data())]).toEqual([-Infinity, 3, -Infinity, -Infinity]);
    expect(() => topPFilter(logits, 0)).toThrow(/p must be within \(0, 1\]/);
  });

  it('greedy is the argmax; sampled frequencies follow softmax(logits / T); top-k never leaves its set', async () => {
    setBackend(backend);
    const row = [0.5, 1.5, -1, 1];
    expect([...(await sampleNextToken(tensor([row], { dtype: testFloat() })).data())]).toEqual([1]);
    const n = 4000;
    const logits = tensor(Array.from({ length: n }, () => row), { dtype: testFloat() });
    const draws = await sampleNextToken(logits, { doSample: true, temperature: 2, generator: new Generator(1) }).data();
    const z = row.map((x) => Math.exp(x / 2));
    const total = z.reduce((a, b) => a + b);
    for (let i = 0; i < 4; i++) {
      const freq = [...draws].filter((t) => t === i).length / n;
      expect(Math.abs(freq - z[i]! / total)).toBeLessThan(0.03);
    }
    const topk = await sampleNextToken(logits, { doSample: true, topK: 2, generator: new Generator(2) }).data();
    expect(new Set(topk)).toEqual(new Set([1, 3]));
  });
});

describe.each(BACKENDS)('generate (%s)', (backend) => {
  const model = () => new DecoderLM({ vocabSize: 13, hiddenSize: 8, numLayers: 2, numHeads: 2, numKvHeads: 1, dtype: testFloat(), generator: new Generator(5) });
  const prompt = () => tensor(Int32Array.from([1, 4, 2, 7, 3, 3])).reshape([2, 3]);

  it('greedy decoding with the KV cache equals recomputing the whole prefix', async () => {
    setBackend(backend);
    const lm = model();
    const a = await generate(lm, prompt(), { maxNewTokens: 5 });
    const b = await generate(lm, prompt(), { maxNewTokens: 5, useCache: false });
    expect(a.shape).toEqual([2, 8]);
    expect(await a.array()).toEqual(await b.array());
    expect((await a.narrow(1, 0, 3).array())).toEqual(await prompt().array());
  });

  it('seeded sampling is reproducible; top-k = 1 is greedy', async () => {
    setBackend(backend);
    const lm = model();
    const opts = { maxNewTokens: 6, doSample: true, temperature: 1.5, topP: 0.95 };
    const a = await generate(lm, prompt(), { ...opts, generator: new Generator(7) });
    const b = await generate(lm, prompt(), { ...opts, generator: new Generator(7) });
    expect(await a.array()).toEqual(await b.array());
    const k1 = await generate(lm, prompt(), { maxNewTokens: 4, doSample: true, topK: 1, generator: new Generator(8) });
    expect(await k1.array()).toEqual(await (await generate(lm, prompt(), { maxNewTokens: 4 })).array());
  });

  it('stops when every row has produced EOS; finished rows keep emitting it', async () => {
    setBackend(backend);
    const lm = model();
    const greedy = (await (await generate(lm, prompt(), { maxNewTokens: 6 })).array()) as number[][];
    const eos = greedy[0]![3]!; // row 0's first generated token
    const out = (await (await generate(lm, prompt(), { maxNewTokens: 6, eosTokenId: eos })).array()) as number[][];
    const row0 = out[0]!.slice(3);
    expect(row0.every((t) => t === eos)).toBe(true);
    const row1Hit = greedy[1]!.slice(3).indexOf(eos);
    expect(out[0]!.length).toBe(row1Hit === -1 ? 9 : 3 + Math.max(1, row1Hit + 1));
  });

  it('frees every intermediate and the cache (only the returned ids stay alive)', async () => {
    setBackend(backend);
    const lm = model();
    const ids = prompt();
    const before = memoryStats()[backend]!.buffers;
    const out = await generate(lm, ids, { maxNewTokens: 4, doSample: true, topK: 3, topP: 0.9, generator: new Generator(1) });
    out.dispose();
    expect(memoryStats()[backend]!.buffers).toBe(before);
  });

  it('rejects non-int32 ids and bad lengths', async () => {
    setBackend(backend);
    const lm = model();
    await expect(generate(lm, tensor([[1, 2]]), { maxNewTokens: 1 })).rejects.toThrow(/inputIds must be int32/);
    await expect(generate(lm, prompt(), { maxNewTokens: -1 })).rejects.toThrow(/maxNewTokens/);
  });
});
