// Stacked bar charts as inline SVG, drawn from the geometry in model.ts: one bar per bucket,
// one colour per series, a <title> per bar (the browser shows it on hover), and a legend with
// each series' total. Labels are text nodes, like everything else on the page.
import { el, svg } from './dom.ts';
import { type Bar, bucketLabel, type ChartSeries, printable, stackBars } from './model.ts';

const WIDTH = 640;
const HEIGHT = 180;
const PAD = { left: 44, right: 8, top: 8, bottom: 22 };
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

function colour(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

/** Replaces the figure's content with a chart of `series` over `buckets`. */
export function renderChart(figure: HTMLElement, title: string, series: ChartSeries[], buckets: string[], bucket: 'hour' | 'day'): void {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const { bars, max } = stackBars(series, buckets.length, plotW, plotH);
  const caption = el('figcaption', {}, el('strong', {}, title), ` per ${bucket} (UTC)`);
  if (max === 0) {
    figure.replaceChildren(caption, el('p', { class: 'empty' }, 'No events in this range.'));
    return;
  }
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': `${title} per ${bucket}` });
  const plot = svg('g', { transform: `translate(${PAD.left},${PAD.top})` });
  plot.append(svg('line', { class: 'axis', x1: 0, y1: plotH, x2: plotW, y2: plotH }), svg('line', { class: 'axis', x1: 0, y1: 0, x2: 0, y2: plotH }));
  plot.append(svg('text', { class: 'tick', x: -4, y: 8, 'text-anchor': 'end' }, String(max)), svg('text', { class: 'tick', x: -4, y: plotH, 'text-anchor': 'end' }, '0'));
  for (const bar of bars) plot.append(barElement(bar, series, buckets, bucket));
  const ticks = [0, Math.floor((buckets.length - 1) / 2), buckets.length - 1].filter((v, i, all) => all.indexOf(v) === i);
  for (const i of ticks) {
    const x = ((i + 0.5) * plotW) / buckets.length;
    const anchor = i === 0 ? 'start' : i === buckets.length - 1 ? 'end' : 'middle';
    plot.append(svg('text', { class: 'tick', x: i === 0 ? 0 : i === buckets.length - 1 ? plotW : x, y: plotH + 15, 'text-anchor': anchor }, bucketLabel(buckets[i] as string, bucket)));
  }
  chart.append(plot);
  const legend = el('ul', { class: 'legend' });
  series.forEach((s, index) => {
    const swatch = svg('svg', { class: 'swatch', viewBox: '0 0 10 10', 'aria-hidden': 'true' }, svg('rect', { width: 10, height: 10, fill: colour(index) }));
    legend.append(el('li', { 'data-key': s.label }, swatch, el('span', { class: 'key' }, printable(s.label)), ` ${s.total}`));
  });
  figure.replaceChildren(caption, chart, legend);
}

function barElement(bar: Bar, series: ChartSeries[], buckets: string[], bucket: 'hour' | 'day'): SVGRectElement {
  const label = `${printable(series[bar.series]?.label ?? '')}, ${bucketLabel(buckets[bar.bucket] ?? '', bucket)}: ${bar.count}`;
  return svg('rect', { class: 'bar', x: bar.x.toFixed(2), y: bar.y.toFixed(2), width: Math.max(bar.width, 0.5).toFixed(2), height: Math.max(bar.height, 0.5).toFixed(2), fill: colour(bar.series) }, svg('title', {}, label));
}
