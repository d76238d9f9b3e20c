/**
 * Training progress: a live bar (cli-progress) with step, loss, tokens/s and ETA on a terminal; plain lines every
 * `every` steps when stdout is not a TTY (CI logs, pipes), so the output stays readable there.
 */
import cliProgress from 'cli-progress';

export interface StepStats {
  step: number;
  loss: number;
  tokensPerSecond: number;
}

export interface Progress {
  update(stats: StepStats): void;
  /** Prints text above the bar (or as plain lines). */
  log(text: string): void;
  stop(): void;
}

/** "1h02m", "2m05s", "7s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const fmtRate = (r: number) => Math.round(r).toLocaleString('en-US');

/** Seconds left, from the rate of the steps seen since this run started (resumed runs start mid-way). */
class EtaEstimator {
  private readonly t0 = performance.now();
  constructor(private readonly firstStep: number, private readonly total: number) {}
  secondsLeft(step: number): number {
    const done = step - this.firstStep;
    if (done <= 0) return NaN;
    return (((performance.now() - this.t0) / 1000) * (this.total - step)) / done;
  }
}

function plainProgress(firstStep: number, total: number, every: number): Progress {
  const eta = new EtaEstimator(firstStep, total);
  return {
    update({ step, loss, tokensPerSecond }) {
      if (step % every !== 0 && step !== total && step !== firstStep + 1) return;
      const width = String(total).length;
      console.log(
        `step ${String(step).padStart(width)}/${total}  loss ${loss.toFixed(4)}  ${fmtRate(tokensPerSecond).padStart(7)} tok/s  ETA ${formatDuration(eta.secondsLeft(step))}`,
      );
    },
    log: (text) => console.log(text),
    stop() {},
  };
}

function barProgress(firstStep: number, total: number): Progress {
  const eta = new EtaEstimator(firstStep, total);
  const bars = new cliProgress.MultiBar(
    {
      format: 'step {value}/{total} [{bar}] loss {loss} | {rate} tok/s | ETA {myEta}',
      stream: process.stdout,
      hideCursor: true,
      barsize: 30,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(total, firstStep, { loss: '-', rate: '-', myEta: '?' });
  return {
    update({ step, loss, tokensPerSecond }) {
      bar.update(step, { loss: loss.toFixed(4), rate: fmtRate(tokensPerSecond), myEta: formatDuration(eta.secondsLeft(step)) });
    },
    log: (text) => bars.log(text.endsWith('\n') ? text : `${text}\n`),
    stop: () => bars.stop(),
  };
}

/** A bar on a TTY, plain lines every `every` steps otherwise. */
export function createProgress(firstStep: number, total: number, every: number, tty = Boolean(process.stdout.isTTY)): Progress {
  return tty ? barProgress(firstStep, total) : plainProgress(firstStep, total, every);
}
