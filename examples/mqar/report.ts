/**
 * Results as a markdown table and a plot. The plot is a Vega-Lite spec compiled to Vega, rendered headlessly to SVG
 * and rasterised to PNG by resvg (a prebuilt binary inside its npm package: nothing is compiled or downloaded).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ModuleResult, Settings } from './train.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const kib = (bytes: number) => (bytes >= 1024 ? `${(bytes / 1024).toFixed(bytes % 1024 ? 1 : 0)} KiB` : `${bytes} B`);

function table(header: string[], rows: string[][], rightFrom = 1): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const rule = header.map((_, i) => (i >= rightFrom ? '---:' : '---'));
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}

/** Accuracy table (one row per module) and cost table (parameters, cache, step time), in markdown. */
export function resultsMarkdown(results: readonly ModuleResult[], s: Settings): string {
  const lens = s.seqLens;
  const chance = 1 / s.numValues;
  const accuracy = table(
    ['module', ...lens.map((T) => `T=${T} (N=${results[0]?.lengths.find((l) => l.seqLen === T)?.numPairs ?? '?'})`)],
    results.map((r) => [r.module, ...r.lengths.map((l) => pct(l.accuracy))]),
  );
  const costs = table(
    ['module', 'parameters', 'MLP width', 'KV cache / token', 'fixed state', `cache at T=${Math.max(...lens)}`, ...lens.map((T) => `ms/step T=${T}`), 'train time'],
    results.map((r) => {
      const longest = r.lengths.reduce((a, b) => (b.seqLen > a.seqLen ? b : a));
      return [
        r.module, r.parameters.toLocaleString('en-US'), String(r.mlpHidden), kib(r.cache.perToken * 4), kib(r.cache.fixed * 4), kib(longest.cacheBytes),
        ...r.lengths.map((l) => l.msPerStep.toFixed(0)), `${r.trainSeconds.toFixed(0)} s`,
      ];
    }),
  );
  return (
    `Test accuracy on ${s.testSequences} held-out sequences per length (chance ${pct(chance)}):\n\n${accuracy}\n\n` +
    `Costs (float32; cache and state summed over ${s.layers} layer${s.layers > 1 ? 's' : ''}; step time is the median of the training steps at that length, ` +
    `${s.tokensPerStep} tokens per step):\n\n${costs}\n`
  );
}

/** Accuracy vs sequence length, one line per module, with the chance level as a dashed rule. */
export function accuracySpec(results: readonly ModuleResult[], s: Settings): TopLevelSpec {
  const modules = results.map((r) => r.module);
  const points = results.flatMap((r) => r.lengths.map((l) => ({ module: r.module, seqLen: l.seqLen, accuracy: l.accuracy })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'MQAR test accuracy vs sequence length', subtitle: `${s.steps} steps, d=${s.dim}, ${s.layers} layers, kv pairs = T/${Math.round(1 / s.pairsPerToken)}` },
    width: 520,
    height: 300,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: { size: 70, filled: true }, strokeWidth: 2 },
        encoding: {
          x: { field: 'seqLen', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: s.seqLens, format: 'd' }, title: 'sequence length T' },
          y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '%' }, title: 'test accuracy' },
          // Colour, dash and marker all follow the module, so lines that coincide (near 100%) stay distinguishable.
          color: { field: 'module', type: 'nominal', sort: modules, title: 'mixer' },
          strokeDash: { field: 'module', type: 'nominal', sort: modules, title: 'mixer' },
          shape: { field: 'module', type: 'nominal', sort: modules, title: 'mixer' },
        },
      },
      {
        data: { values: [{ chance: 1 / s.numValues }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [2, 3], color: '#888' }, encoding: { y: { field: 'chance', type: 'quantitative' } } },
          {
            mark: { type: 'text', text: 'chance', align: 'right', dx: -4, dy: -7, color: '#666', x: 'width' },
            encoding: { y: { field: 'chance', type: 'quantitative' } },
          },
        ],
      },
    ],
  };
}
