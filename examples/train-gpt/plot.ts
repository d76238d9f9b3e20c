/**
 * The loss curve as a picture: a Vega-Lite spec compiled to Vega, rendered headlessly to SVG, rasterised to PNG by
 * resvg (a prebuilt binary shipped inside its npm package; nothing is built or downloaded at install).
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface LossPoint {
  step: number;
  loss: number;
  split: 'train' | 'validation';
}

/** Renders a Vega-Lite spec to an SVG string (no browser, no canvas). */
export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises SVG to PNG at `width` pixels, on a white background, with the system's fonts. */
export function svgToPng(svg: string, width = 900): Buffer {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'width', value: width },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/** Spec for training loss per step (thin line) and validation loss (points joined). */
export function lossCurveSpec(points: readonly LossPoint[], title: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 300,
    data: { values: points as LossPoint[] },
    mark: { type: 'line', point: false, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'loss', type: 'quantitative', title: 'cross-entropy (nats/char)', scale: { zero: false } },
      color: { field: 'split', type: 'nominal', title: null, scale: { range: ['#4c78a8', '#e45756'] } },
    },
  };
}

/** PNG bytes of the loss curve. */
export async function lossCurvePng(points: readonly LossPoint[], title: string): Promise<Buffer> {
  return svgToPng(await vegaLiteToSvg(lossCurveSpec(points, title)));
}
