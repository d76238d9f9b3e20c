/**
 * GPU time per kernel of one tiny-GPT training step (forward, loss, backward), for tuning. The step is captured, and
 * each recorded dispatch is then timed alone: repeated back to back in one compute pass (as the runtime encodes a
 * stream) and divided by the count, so the figure includes the per-dispatch cost of the driver and its barriers.
 * Timestamp queries around one pass per dispatch were tried first; they inflate small kernels several times over.
 *
 *   npx tsx bench/webgpu-kernel-profile.ts [--top 25] [--reps 50]
 */
import { parseArgs } from 'node:util';
import { scope, setBackend } from '@tessera/core';
import { initWebGPU } from '@tessera/backend-webgpu';
import { tinyGptTraining } from './models/tiny-gpt-training.js';
import { useLavapipe } from './peers/dawn.js';

const { values } = parseArgs({ options: { top: { type: 'string', default: '25' }, reps: { type: 'string', default: '50' } } });
useLavapipe();
const backend = await initWebGPU({});
const device = backend.device;
setBackend('webgpu');
const { params, optimizer, loss: lossOf } = tinyGptTraining('webgpu');
// One eager step first (pipelines compiled, Adam state made), then the recorded one.
scope(() => {
  lossOf().backward();
  optimizer.step();
});
for (const p of params) p.grad = null;
backend.beginCapture();
scope(() => lossOf().backward());
const replay = backend.rt.endCapture();
await device.queue.onSubmittedWorkDone();

type Dispatch = Extract<(typeof replay.commands)[number], { pipeline: GPUComputePipeline }>;
const reps = Number(values.reps);
/** Median GPU stream time (µs) of `reps` back-to-back copies of the given dispatches. */
async function streamTime(list: readonly Dispatch[]): Promise<number> {
  const run = () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let r = 0; r < reps; r++)
      for (const c of list) {
        pass.setPipeline(c.pipeline);
        pass.setBindGroup(0, c.group, c.offsets, 0, c.offsets.length);
        pass.dispatchWorkgroups(c.x, c.y, c.z);
      }
    pass.end();
    device.queue.submit([enc.finish()]);
    return device.queue.onSubmittedWorkDone();
  };
  await run();
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    await run();
    times.push(((performance.now() - t0) * 1000) / reps);
  }
  return times.sort((a, b) => a - b)[1]!;
}

const dispatches = replay.commands.filter((c): c is Dispatch => 'pipeline' in c);
const rows: { name: string; grid: string; us: number }[] = [];
for (const c of dispatches) rows.push({ name: c.pipeline.label, grid: `${c.x}×${c.y}×${c.z}`, us: await streamTime([c]) });
const whole = await streamTime(dispatches);
const sum = rows.reduce((a, r) => a + r.us, 0);
console.log(`${dispatches.length} dispatches (and ${replay.commands.length - dispatches.length} copies); each alone: ${(sum / 1000).toFixed(3)} ms in all; the whole list back to back: ${(whole / 1000).toFixed(3)} ms per step`);
const byName = new Map<string, { calls: number; us: number }>();
for (const r of rows) {
  const e = byName.get(r.name) ?? { calls: 0, us: 0 };
  byName.set(r.name, { calls: e.calls + 1, us: e.us + r.us });
}
console.log('\nby kernel (µs per step, calls, µs per call):');
for (const [k, v] of [...byName].sort((a, b) => b[1].us - a[1].us)) console.log(`${v.us.toFixed(0).padStart(7)}  ${String(v.calls).padStart(4)}  ${(v.us / v.calls).toFixed(1).padStart(7)}  ${k}`);
const byShape = new Map<string, { calls: number; us: number }>();
for (const r of rows) {
  const key = `${r.name} [${r.grid}]`;
  const e = byShape.get(key) ?? { calls: 0, us: 0 };
  byShape.set(key, { calls: e.calls + 1, us: e.us + r.us });
}
console.log('\nslowest dispatch shapes (µs per step, calls, µs per call):');
for (const [k, v] of [...byShape].sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.top)))
  console.log(`${v.us.toFixed(0).padStart(7)}  ${String(v.calls).padStart(4)}  ${(v.us / v.calls).toFixed(1).padStart(7)}  ${k}`);
process.exit(0);
