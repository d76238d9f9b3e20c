/**
 * Trains a small MLP on the two-spirals problem with nothing but @tessera/core: parameters are plain tensors,
 * the loss is cross-entropy written from logSoftmax + gather, and Adam is a few in-place updates under noGrad.
 * Each step runs inside scope(), so every temporary (activations, gradients, graph) is freed when it ends and the
 * number of live buffers stays flat however long it trains.
 *
 *   npx tsx examples/train-mlp.ts                      # 600 steps, seed 0, default backend
 *   npx tsx examples/train-mlp.ts --steps 300 --seed 7 --backend reference
 */
import { parseArgs } from 'node:util';
import {
  Generator, Tensor, cat, full, getBackend, linspace, listBackends, memoryStats, noGrad, randn, scope, setBackend, stack,
  zeros, zerosLike,
} from '@tessera/core';

const USAGE = `Usage: npx tsx examples/train-mlp.ts [--steps N] [--seed N] [--backend NAME] [--help]

Trains a 2-64-64-2 MLP on the two-spirals task and prints loss, accuracy and speed.

  --steps N        training steps (default 600)
  --seed N         seed for data noise and initial weights (default 0)
  --backend NAME   backend to run on (default: the current default; registered: ${listBackends().join(', ')})
  --help           show this message`;

/** Exits with the usage text instead of a stack trace. */
function usageError(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseFlags(): { steps: number; seed: number; backend: string | undefined } {
  let values;
  try {
    ({ values } = parseArgs({
      // `pnpm start -- --steps 5` forwards the '--' too; drop it so both spellings work.
      args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
      options: {
        steps: { type: 'string', default: '600' },
        seed: { type: 'string', default: '0' },
        backend: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usageError((e as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) usageError(`--${name} must be an integer >= ${min}, got '${text}'`);
    return n;
  };
  return { steps: int('steps', values.steps, 1), seed: int('seed', values.seed, 0), backend: values.backend };
}

/** Selects a backend by name, importing its package (@tessera/backend-NAME) if it is not registered yet. */
async function chooseBackend(name: string): Promise<void> {
  let why = '';
  if (!listBackends().includes(name)) {
    try {
      await import(`@tessera/backend-${name}`);
    } catch (e) {
      why = `; loading @tessera/backend-${name} failed: ${String((e as Error).message).split('\n')[0]}`;
    }
  }
  if (!listBackends().includes(name)) usageError(`unknown backend '${name}' (available: ${listBackends().join(', ')}${why})`);
  setBackend(name);
}

// ---- data: two interleaved spirals, one per class ----------------------------------------------------------------
const POINTS_PER_CLASS = 200;

function twoSpirals(gen: Generator): { x: Tensor; y: Tensor } {
  return scope(() => {
    const radius = linspace(0.08, 1, POINTS_PER_CLASS);
    const angle = radius.mul(3.5 * Math.PI); // 1.75 turns
    const arms = [0, 1].map((c) => {
      const theta = angle.add(c * Math.PI).add(randn([POINTS_PER_CLASS], { generator: gen }).mul(0.12));
      return stack([radius.mul(theta.cos()), radius.mul(theta.sin())], 1);
    });
    const y = cat([full([POINTS_PER_CLASS], 0, { dtype: 'int32' }), full([POINTS_PER_CLASS], 1, { dtype: 'int32' })]);
    return { x: cat(arms, 0), y };
  });
}

// ---- model -------------------------------------------------------------------------------------------------------
const SIZES = [2, 64, 64, 2];

interface Layer {
  w: Tensor;
  b: Tensor;
}

/** Weights ~ N(0, 1/fanIn) so tanh units start in their linear range; biases zero. */
function initLayers(gen: Generator): Layer[] {
  return SIZES.slice(1).map((out, i) => {
    const fanIn = SIZES[i]!;
    const w = noGrad(() => scope(() => randn([fanIn, out], { generator: gen }).mul(1 / Math.sqrt(fanIn))));
    return { w: w.requiresGrad_(), b: zeros([out], { requiresGrad: true }) };
  });
}

function forward(layers: Layer[], x: Tensor): Tensor {
  let h = x;
  layers.forEach(({ w, b }, i) => {
    h = h.matmul(w).add(b);
    if (i < layers.length - 1) h = h.tanh();
  });
  return h;
}

/** Mean negative log-likelihood of the labels: −mean(logSoftmax(logits)[i, y_i]). */
function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return logits.logSoftmax(-1).gather(1, labels.unsqueeze(1)).mean().neg();
}

// ---- optimizer ---------------------------------------------------------------------------------------------------
/** Adam (Kingma & Ba) with bias correction, updating parameters and moments in place. */
class Adam {
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private t = 0;
  constructor(
    private readonly params: Tensor[],
    private readonly lr = 0.01,
    private readonly betas: [number, number] = [0.9, 0.999],
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => zerosLike(p));
    this.v = params.map((p) => zerosLike(p));
  }
  step(): void {
    this.t++;
    const [b1, b2] = this.betas;
    const stepSize = (this.lr * Math.sqrt(1 - b2 ** this.t)) / (1 - b1 ** this.t);
    noGrad(() =>
      this.params.forEach((p, i) => {
        const g = p.grad;
        if (!g) return;
        this.m[i]!.mul_(b1).add_(g, 1 - b1);
        this.v[i]!.mul_(b2).add_(g.square(), 1 - b2);
        p.sub_(this.m[i]!.div(this.v[i]!.sqrt().add(this.eps)), stepSize);
        // A leaf's .grad outlives scopes (it belongs to the parameter), so free it here: this is zeroGrad.
        g.dispose();
        p.grad = null;
      }),
    );
  }
}

// ---- a small picture of what was learned ---------------------------------------------------------------------------
/** Decision regions on a character grid ('·' class 0, '#' class 1) with the training points drawn as 'o' and 'x'. */
async function decisionMap(layers: Layer[], x: Tensor, y: Tensor, cols = 56, rows = 24): Promise<string> {
  const grid = scope(() => {
    const gx = linspace(-1.1, 1.1, cols).unsqueeze(0).expand([rows, cols]);
    const gy = linspace(1.1, -1.1, rows).unsqueeze(1).expand([rows, cols]);
    const pts = stack([gx.reshape([-1]), gy.reshape([-1])], 1);
    return noGrad(() => forward(layers, pts).argmax(1));
  });
  const cells: string[] = Array.from(await grid.data(), (c) => (c ? '#' : '·'));
  grid.dispose();
  const [xs, ys] = [await x.data(), await y.data()];
  for (let i = 0; i < ys.length; i++) {
    const c = Math.round(((xs[2 * i]! + 1.1) / 2.2) * (cols - 1));
    const r = Math.round(((1.1 - xs[2 * i + 1]!) / 2.2) * (rows - 1));
    cells[r * cols + c] = ys[i] ? 'x' : 'o';
  }
  return Array.from({ length: rows }, (_, r) => '  ' + cells.slice(r * cols, (r + 1) * cols).join('')).join('\n');
}

// ---- main --------------------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const { steps, seed, backend } = parseFlags();
  if (backend) await chooseBackend(backend);
  const device = getBackend().name;
  const gen = new Generator(seed);
  const { x, y } = twoSpirals(gen);
  const layers = initLayers(gen);
  const params = layers.flatMap((l) => [l.w, l.b]);
  const adam = new Adam(params, 0.01);
  const nParams = params.reduce((n, p) => n + p.numel(), 0);
  console.log(`two spirals: ${y.numel()} points, MLP ${SIZES.join('-')} (${nParams} parameters), Adam, backend '${device}', seed ${seed}`);
  console.log('   step      loss   accuracy   steps/s   live buffers');

  const logEvery = Math.max(1, Math.round(steps / 12));
  const start = performance.now();
  let lastTime = start;
  let lastStep = 0;
  let first: number | undefined;
  let final = { loss: NaN, accuracy: NaN };
  for (let step = 1; step <= steps; step++) {
    const log = step === 1 || step % logEvery === 0 || step === steps;
    // Everything created inside the scope is freed when it returns, except the two scalars handed out for logging.
    const stats = scope(() => {
      const logits = forward(layers, x);
      const loss = crossEntropy(logits, y);
      loss.backward();
      adam.step();
      if (!log) return null;
      const accuracy = noGrad(() => logits.argmax(1).eq(y).float().mean());
      return [loss.detach(), accuracy] as const;
    });
    if (!stats) continue;
    const [loss, accuracy] = await Promise.all(stats.map((t) => t.item()));
    stats.forEach((t) => t.dispose());
    const now = performance.now();
    const rate = ((step - lastStep) / (now - lastTime)) * 1000;
    [lastTime, lastStep] = [now, step];
    first ??= loss;
    final = { loss: loss!, accuracy: accuracy! };
    const live = memoryStats()[device]?.buffers ?? 0;
    console.log(
      `${String(step).padStart(7)}  ${loss!.toFixed(4).padStart(8)}  ${(accuracy! * 100).toFixed(1).padStart(8)}%  ` +
        `${rate.toFixed(1).padStart(8)}  ${String(live).padStart(13)}`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(`\ndecision regions after ${steps} steps ('o' / 'x' are the two classes):\n${await decisionMap(layers, x, y)}\n`);
  console.log(
    `done: loss ${first!.toFixed(4)} -> ${final.loss.toFixed(4)}, accuracy ${(final.accuracy * 100).toFixed(1)}%, ` +
      `${steps} steps in ${seconds.toFixed(1)} s (${(steps / seconds).toFixed(1)} steps/s)`,
  );
}

await main();
// A backend may keep worker threads alive; training is over, so end the process.
process.exit(0);
