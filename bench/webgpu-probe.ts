/**
 * A quick look at a WebGPU adapter for tuning: what it offers, f32 matmul throughput of each kernel variant at
 * n = 1024…4096 (one call with a read, and 8 queued calls per read), and the tiny-GPT step's dispatch count and the
 * time JavaScript takes to enqueue it versus the whole step. A diagnostic beside `pnpm bench --backend webgpu`.
 *
 *   npx tsx bench/webgpu-probe.ts [--sizes 1024,2048,4096] [--variants tiled,large] [--steps 20] [--dawn OPTION,...]
 */
import { parseArgs } from 'node:util';
import { capture, Generator, randn, registerBackend, scope, setBackend, type Tensor } from '@tessera/core';
import { initWebGPU, WebGPUBackend, type MatmulKernel } from '@tessera/backend-webgpu';
import { settle, tinyGptTraining } from './models/tiny-gpt-training.js';
import { useLavapipe } from './peers/dawn.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1024,2048,4096' },
    variants: { type: 'string', default: 'tiled,large' },
    steps: { type: 'string', default: '20' },
    // Dawn options for create(), e.g. 'enable-dawn-features=disable_robustness' (comma-separated list).
    dawn: { type: 'string' },
  },
});
useLavapipe();
const main = await initWebGPU(values.dawn ? { dawnOptions: values.dawn.split(',') } : {});
const info = main.device.adapterInfo;
console.log(`adapter: ${info?.vendor} ${info?.architecture} ${info?.device} ${info?.description}; default matmul: ${main.matmulKernel}`);
console.log(`features: ${[...main.device.features].join(', ')}`);
const lim = main.device.limits;
console.log(`limits: workgroup storage ${lim.maxComputeWorkgroupStorageSize}, invocations ${lim.maxComputeInvocationsPerWorkgroup}, binding ${lim.maxStorageBufferBindingSize}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

// The floor under every timed run that waits for a result: one tiny kernel and a one-element read.
{
  const x = randn([4], { device: 'webgpu' });
  const trips: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    const y = x.add(1);
    await y.data();
    y.dispose();
    trips.push(performance.now() - t0);
  }
  trips.sort((a, b) => a - b);
  console.log(`round trip (enqueue, submit, read back): min ${trips[0]!.toFixed(3)} ms, median ${trips[100]!.toFixed(3)} ms, p90 ${trips[180]!.toFixed(3)} ms`);
  x.dispose();
}

for (const variant of values.variants!.split(',') as MatmulKernel[]) {
  const name = `probe-${variant}`;
  registerBackend(new WebGPUBackend(main.device, { name, matmul: variant }), -10);
  for (const n of values.sizes!.split(',').map(Number)) {
    const gen = new Generator(n);
    const [a, b] = [randn([n, n], { device: name, generator: gen }), randn([n, n], { device: name, generator: gen })];
    const flop = 2 * n ** 3;
    const single: number[] = [];
    const queued: number[] = [];
    for (let rep = 0; rep < 6; rep++) {
      let t0 = performance.now();
      const y = a.matmul(b);
      await settle(y);
      single.push(performance.now() - t0);
      y.dispose();
      t0 = performance.now();
      const ys = scope(() => Array.from({ length: 8 }, () => a.matmul(b)));
      await settle(ys.at(-1)!);
      queued.push((performance.now() - t0) / 8);
      ys.forEach((t) => t.dispose());
    }
    // Check against a float64 product of a few entries, so a fast wrong kernel cannot pass as fast.
    const [ah, bh, yh] = [await a.data(), await b.data(), await a.matmul(b).data()];
    let worst = 0;
    for (const [i, j] of [[0, 0], [n - 1, n - 1], [n >> 1, 7], [3, n - 2]] as const) {
      let s = 0;
      for (let k = 0; k < n; k++) s += ah[i * n + k]! * bh[k * n + j]!;
      worst = Math.max(worst, Math.abs(s - yh[i * n + j]!) / Math.sqrt(n));
    }
    const tf = (ms: number) => (flop / ms / 1e9).toFixed(2);
    console.log(`matmul ${variant} n=${n}: ${tf(median(single))} TFLOP/s per call (${median(single).toFixed(2)} ms), ${tf(median(queued))} queued ×8; max error/√n ${worst.toExponential(1)}`);
    a.dispose();
    b.dispose();
  }
}

setBackend('webgpu');
const { params, optimizer, loss: lossOf } = tinyGptTraining('webgpu');
const rt = main.rt;
const steps = Number(values.steps);
/**
 * Times `steps` steps (after min(3, steps − 1) warm-ups): JS enqueue, the whole step up to Adam's last write, and
 * the dispatches of one step. `step` enqueues one and returns its loss; `ownsLoss`: dispose that loss after reading.
 */
async function timeSteps(label: string, step: () => Tensor, ownsLoss: boolean): Promise<void> {
  const [enqueue, total]: number[][] = [[], []];
  let dispatches = 0;
  let loss = 0;
  for (let i = 0; i < steps; i++) {
    const d0 = rt.dispatches;
    const t0 = performance.now();
    const l = step();
    const t1 = performance.now();
    await settle(params.at(-1)!);
    loss = await l.item();
    if (ownsLoss) l.dispose();
    if (i >= Math.min(3, steps - 1)) {
      enqueue.push(t1 - t0);
      total.push(performance.now() - t0);
    }
    dispatches = rt.dispatches - d0;
  }
  console.log(`${label}: ${median(total).toFixed(2)} ms (JS enqueue ${median(enqueue).toFixed(2)} ms), ${dispatches} dispatches/step, loss ${loss.toFixed(4)}`);
}

const eagerStep = () =>
  scope(() => {
    const l = lossOf();
    optimizer.zeroGrad();
    l.backward();
    optimizer.step();
    return l.detach();
  });
await timeSteps('GPT step', eagerStep, true);

// The same step with forward and backward captured once and replayed (Adam eager).
const captured = capture(() => {
  const l = lossOf();
  l.backward();
  return l.detach();
}, { grads: params });
optimizer.step();
await timeSteps('GPT step, captured', () => {
  const l = captured.replay();
  optimizer.step();
  return l;
}, false);
captured.dispose();
process.exit(0);
