/** Training-state checkpoints: resuming gives bit-identical losses; mismatched objects are refused clearly. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, randn, scope, type Tensor } from '@tessera/core';
import {
  AdamW, CheckpointError, clipGradNorm_, CosineWithWarmup, loadSafetensors, loadTrainingState, mseLoss, MLP, OneCycleLR, SGD,
  saveSafetensors, saveTrainingState, StateDictError, StepLR, type LRScheduler, type Optimizer, type ParamGroup,
} from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  gen: Generator;
  model: MLP;
  opt: Optimizer<ParamGroup>;
  sched: LRScheduler;
}

const setups = {
  'AdamW + CosineWithWarmup': (seed: number): Run => {
    const gen = new Generator(seed);
    const model = new MLP(4, 16, { outFeatures: 2, dropout: 0.2, generator: gen, dtype: 'float64' });
    const opt = new AdamW(model.parameters(), { lr: 0.01, amsgrad: true });
    return { gen, model, opt, sched: new CosineWithWarmup(opt, { warmupSteps: 3, totalSteps: 30, minLr: 1e-4 }) };
  },
  'SGD nesterov + OneCycleLR': (seed: number): Run => {
    const gen = new Generator(seed);
    const model = new MLP(4, 16, { outFeatures: 2, dropout: 0.1, generator: gen, activation: 'silu' });
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
    return { gen, model, opt, sched: new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 25 }) };
  },
};

/** One training step; the batch noise and dropout masks both come from the run's generator. */
async function step(r: Run, x: Tensor, y: Tensor): Promise<number> {
  const loss = scope(() => {
    r.opt.zeroGrad();
    const noise = randn(x.shape, { generator: r.gen, dtype: x.dtype });
    const l = mseLoss(r.model.forward(x.add(noise.mul(0.1))), y);
    l.backward();
    clipGradNorm_(r.model.parameters(), 1.0);
    r.opt.step();
    r.sched.step();
    return l;
  });
  return loss.item();
}

describe('training-state checkpoints', () => {
  it.each(Object.entries(setups))('%s: resuming reproduces the next 10 losses bit for bit', async (_name, setup) => {
    const a = setup(1);
    const dtype = a.model.fc1.weight.dtype;
    const x = randn([8, 4], { generator: new Generator(7), dtype });
    const y = randn([8, 2], { generator: new Generator(8), dtype });
    for (let i = 0; i < 10; i++) await step(a, x, y);
    const path = join(tmp, `${_name.replace(/\W+/g, '_')}.safetensors`);
    await saveTrainingState(path, { model: a.model, optimizer: a.opt, scheduler: a.sched, step: 10, generator: a.gen, extra: { note: 'ok', best: Infinity } });
    const uninterrupted: number[] = [];
    for (let i = 0; i < 10; i++) uninterrupted.push(await step(a, x, y));

    const b = setup(999); // different initial weights and RNG state: everything must come from the file
    const loaded = await loadTrainingState(path, { model: b.model, optimizer: b.opt, scheduler: b.sched, generator: b.gen });
    expect(loaded).toEqual({ step: 10, extra: { note: 'ok', best: Infinity } });
    const resumed: number[] = [];
    for (let i = 0; i < 10; i++) resumed.push(await step(b, x, y));
    expect(resumed).toEqual(uninterrupted);
    for (const [k, t] of Object.entries(a.model.stateDict())) expect(await b.model.stateDict()[k]!.data(), k).toEqual(await t.data());
    expect(b.gen.getState()).toEqual(a.gen.getState());
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('stores the weights under model/ so any safetensors reader can use them', async () => {
    const r = setups['AdamW + CosineWithWarmup'](3);
    const path = join(tmp, 'plain.safetensors');
    await saveTrainingState(path, { model: r.model });
    const { tensors, metadata } = await loadSafetensors(path);
    expect(Object.keys(tensors).sort()).toEqual(['model/fc1.bias', 'model/fc1.weight', 'model/fc2.bias', 'model/fc2.weight']);
    expect(metadata).toMatchObject({ format: 'tessera.training_state', version: '1' });
  });

  it('refuses checkpoints that do not match what they are loaded into', async () => {
    const r = setups['AdamW + CosineWithWarmup'](4);
    const path = join(tmp, 'mismatch.safetensors');
    await saveTrainingState(path, { model: r.model, optimizer: r.opt, scheduler: r.sched });
    const other = setups['SGD nesterov + OneCycleLR'](5);
    await expect(loadTrainingState(path, { model: r.model, optimizer: other.opt })).rejects.toThrow(/holds AdamW state, but the optimizer is SGD/);
    await expect(loadTrainingState(path, { model: r.model, scheduler: new StepLR(r.opt, 2) })).rejects.toThrow(/CosineWithWarmup scheduler, but got StepLR/);
    await expect(loadTrainingState(path, { model: r.model, generator: new Generator(1) })).rejects.toThrow(CheckpointError);
    await expect(loadTrainingState(path, { model: new MLP(4, 8, { outFeatures: 2 }) })).rejects.toThrow(StateDictError);
    const modelOnly = join(tmp, 'model-only.safetensors');
    await saveTrainingState(modelOnly, { model: r.model });
    await expect(loadTrainingState(modelOnly, { model: r.model, optimizer: r.opt })).rejects.toThrow(/no optimizer state/);
    const weights = join(tmp, 'weights-only.safetensors');
    await saveSafetensors(weights, r.model.stateDict());
    await expect(loadTrainingState(weights, { model: r.model })).rejects.toThrow(/not a Tessera training state/);
  });
});
