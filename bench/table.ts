/** Prints one markdown table per case family: medians side by side, with speed ratios against the first column. */
import { median, score, speedup, type BenchCase, type Contender, type Outcome } from './harness.js';

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));
const fmtTokens = (perSecond: number) => (perSecond >= 1e3 ? `${fmt(perSecond / 1e3)}k` : fmt(perSecond));

/** The marker on a number measured with fewer threads than its row asks for. */
export const FEWER_THREADS = '¹';

function cell(c: BenchCase, o: Outcome | undefined, base: Outcome | undefined, isBase: boolean): string {
  if (!o || !('samples' in o) || o.samples.length === 0) return 'n/a';
  const ms = median(o.samples);
  const v = score(c.metric, ms);
  let text = c.metric.unit === 'ms' && c.metric.tokens ? `${fmt(v)} / ${fmtTokens((c.metric.tokens * 1000) / ms)}` : fmt(v);
  if (o.threadsUsed !== undefined && o.threadsUsed < c.threads) text += FEWER_THREADS;
  if (!isBase && base && 'samples' in base && base.samples.length) {
    text += ` (${fmt(speedup(c.metric, v, score(c.metric, median(base.samples))))}x)`;
  }
  return text;
}

export function renderTable(cases: BenchCase[], contenders: Contender[], results: Map<string, Outcome[]>): string {
  const unit = (c: BenchCase) => (c.metric.unit === 'ms' && c.metric.tokens ? 'ms / tok/s' : c.metric.unit);
  const header = ['case', 'unit', ...contenders.map((c) => c.name)];
  const rows = cases.map((c) => {
    const outs = results.get(c.id) ?? [];
    return [c.id, unit(c), ...contenders.map((_, i) => cell(c, outs[i], outs[0], i === 0))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]!].length)));
  const pad = (s: string, w: number, left: boolean) => (left ? s + ' '.repeat(w - [...s].length) : ' '.repeat(w - [...s].length) + s);
  const line = (r: string[]) => '| ' + r.map((s, i) => pad(s, widths[i]!, i < 2)).join(' | ') + ' |';
  return [
    line(header),
    '|' + widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|',
    ...rows.map(line),
  ].join('\n');
}

/** One note per contender and distinct reason for the n/a cells, naming the rows. */
export function skipNotes(cases: BenchCase[], contenders: Contender[], results: Map<string, Outcome[]>): string[] {
  const notes: string[] = [];
  contenders.forEach((k, i) => {
    const byReason = new Map<string, string[]>();
    for (const c of cases) {
      const o = results.get(c.id)?.[i];
      if (o && 'skip' in o) byReason.set(o.skip, [...(byReason.get(o.skip) ?? []), c.id]);
    }
    for (const [why, ids] of byReason) notes.push(`${k.name} n/a in ${ids.map((id) => `'${id}'`).join(', ')}: ${why}`);
  });
  return notes;
}
