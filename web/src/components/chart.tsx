/**
 * Time-series and category charts on uPlot (≈ 50 KB, canvas): line charts of rates and lag,
 * bar charts of query results. The chart follows its container's width.
 */
import { useEffect, useRef } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563', '#65a30d', '#9333ea'];

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
}

export interface ChartProps {
  /** X values: epoch milliseconds for time charts, 0…n-1 for category charts. */
  x: number[];
  series: ChartSeries[];
  height?: number;
  kind?: 'time' | 'line' | 'bar';
  /** Category labels for the x axis of `line`/`bar` charts. */
  categories?: string[];
  yLabel?: string;
  format?: (v: number) => string;
  testId?: string;
}

export function Chart({ x, series, height = 220, kind = 'time', categories, yLabel, format, testId }: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const drawable = kind !== 'time' || x.length >= 2;
  const shape = `${kind}|${drawable}|${series.map((s) => s.label).join('\u0000')}|${categories?.length ?? 0}`;

  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const width = Math.max(200, node.clientWidth);
    const fmt = format ?? ((v: number) => (Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v * 100) / 100)));
    const bars = kind === 'bar' ? uPlot.paths.bars!({ size: [0.6, 60] }) : undefined;
    const opts: Options = {
      width,
      height,
      // Category charts keep half a slot of room on each side, so edge bars are whole.
      scales: { x: kind === 'time' ? { time: true } : { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      axes: [
        kind === 'time'
          ? {}
          : { values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? (categories?.[s] ?? String(s)) : '')) },
        { label: yLabel, values: (_u, splits) => splits.map((v) => fmt(v)), size: 72 },
      ],
      series: [
        kind === 'time' ? {} : { label: 'x', value: (_u, v) => (v === null ? '' : (categories?.[v] ?? String(v))) },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          fill: kind === 'bar' ? `${PALETTE[i % PALETTE.length]}99` : undefined,
          width: 1.5,
          spanGaps: false,
          points: { show: kind !== 'time' && (x.length < 60) },
          paths: bars,
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)),
        })),
      ],
    };
    const data = [kind === 'time' ? x.map((t) => t / 1000) : x, ...series.map((s) => s.values)] as AlignedData;
    plot.current = new uPlot(opts, data, node);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, node.clientWidth), height }));
    ro.observe(node);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Recreated only when the shape changes; data updates go through setData below.
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData([kind === 'time' ? x.map((t) => t / 1000) : x, ...series.map((s) => s.values)] as AlignedData);
  }, [x, series, kind]);

  if (!drawable) return <div className="empty">Collecting data points…</div>;
  return <div className="chart" ref={el} data-testid={testId} />;
}
