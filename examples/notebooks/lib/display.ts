/**
 * Inline pictures for the notebooks, through the Deno Jupyter kernel's display API: SVG, PNG, HTML tables,
 * Graphviz DOT (rendered by Graphviz compiled to WebAssembly), Vega-Lite charts (rendered to SVG by Vega) and
 * heatmaps of matrices. Outside a notebook (plain `deno run` or tsx) each display prints a one-line note instead.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import type { TopLevelSpec } from 'vega-lite';
import type { ColorScheme } from 'vega';
import { svgToPng, vegaLiteToSvg } from '../../train-gpt/plot.js';

interface JupyterApi {
  display(bundle: Record<string, unknown>, opts: { raw: boolean }): void;
}
const jupyter = (globalThis as { Deno?: { jupyter?: JupyterApi } }).Deno?.jupyter;

function show(mime: string, data: string, note: string): void {
  if (jupyter) jupyter.display({ [mime]: data }, { raw: true });
  else console.log(`[${note}]`);
}

export function showSvg(svg: string): void {
  show('image/svg+xml', svg, `SVG, ${svg.length} bytes`);
}

export function showPng(bytes: Uint8Array): void {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  show('image/png', btoa(binary), `PNG, ${bytes.length} bytes`);
}

export function showHtml(html: string): void {
  show('text/html', html, 'HTML');
}

let graphviz: Graphviz | null = null;
/** Renders Graphviz DOT source to SVG and shows it. */
export async function showDot(dot: string): Promise<void> {
  graphviz ??= await Graphviz.load();
  const svg = graphviz.dot(dot, 'svg');
  showSvg(svg);
}

/** Renders a Vega-Lite spec and shows it: as SVG, or as PNG for charts with thousands of marks (smaller files). */
export async function showChart(spec: TopLevelSpec, opts: { format?: 'svg' | 'png'; width?: number } = {}): Promise<void> {
  const svg = await vegaLiteToSvg(spec);
  if (opts.format === 'png') showPng(svgToPng(svg, opts.width ?? 900));
  else showSvg(svg);
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An HTML table of rows (objects with the same keys); numbers are formatted with thousands separators. */
export function showTable(rows: readonly Record<string, string | number>[], caption?: string): void {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]!);
  const cell = (v: string | number) => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 3 }) : v);
  const html =
    `<table>${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}` +
    `<tr>${keys.map((k) => `<th>${escapeHtml(k)}</th>`).join('')}</tr>` +
    rows.map((r) => `<tr>${keys.map((k) => `<td style="text-align:right">${escapeHtml(String(cell(r[k]!)))}</td>`).join('')}</tr>`).join('') +
    '</table>';
  if (jupyter) showHtml(html);
  else console.table(rows);
}

/**
 * Heatmaps of equally sized square matrices side by side (attention weights per head): `matrices[i][query][key]`,
 * with `titles[i]` above each and the tokens along both axes. Cells above the diagonal (masked by causality) are
 * left blank when `causal` is set. Rendered to PNG.
 */
export async function showHeatmaps(matrices: readonly number[][][], titles: readonly string[], tokens: readonly string[], opts: { size?: number; scheme?: ColorScheme; causal?: boolean } = {}): Promise<void> {
  const values = matrices.flatMap((m, i) =>
    m.flatMap((row, q) =>
      row.flatMap((w, k) => (opts.causal && k > q ? [] : [{ panel: titles[i]!, query: `${q}:${tokens[q]}`, key: `${k}:${tokens[k]}`, weight: w }])),
    ),
  );
  const order = tokens.map((t, i) => `${i}:${t}`);
  const size = opts.size ?? 150;
  return showChart({
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: [...titles] },
    columns: Math.min(4, matrices.length),
    spec: {
      width: size,
      height: size,
      mark: 'rect',
      encoding: {
        x: { field: 'key', type: 'ordinal', sort: order, title: 'key', axis: { labelAngle: 0, labelExpr: "split(datum.value, ':')[1]" } },
        y: { field: 'query', type: 'ordinal', sort: order, title: 'query', axis: { labelExpr: "split(datum.value, ':')[1]" } },
        color: { field: 'weight', type: 'quantitative', scale: { scheme: opts.scheme ?? 'blues', domain: [0, 1] }, title: 'weight' },
      },
    },
  }, { format: 'png', width: 1000 });
}
