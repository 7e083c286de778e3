// RateChart draws the events-per-second history with uPlot (about 20 KB
// gzipped, canvas based, cheap to redraw every second).
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RateHistory } from '../ring';
import { formatRate } from '../format';

interface Props {
  history: RateHistory;
  /** Bumped on every new point; the chart redraws when it changes. */
  version: number;
}

const AXIS = '#8b95a7';
const GRID = 'rgba(139,149,167,0.12)';

export function RateChart({ history, version }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const window = history.windowSeconds;
    const opts: uPlot.Options = {
      width: el.clientWidth || 800,
      height: el.clientHeight || 260,
      legend: { show: false },
      cursor: { show: true, drag: { x: false, y: false }, points: { size: 7 } },
      scales: {
        x: {
          time: true,
          range: (_u, _min, max) => {
            const now = Math.max(max || 0, Date.now() / 1000);
            return [now - window, now];
          },
        },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
      },
      axes: [
        {
          stroke: AXIS,
          grid: { stroke: GRID },
          ticks: { stroke: GRID },
          font: '13px system-ui, sans-serif',
          // Grid lines a minute apart counted back from now: they stay put
          // while the line scrolls, which reads better on a wall screen.
          splits: (_u, _i, _min, max) => {
            const step = window >= 240 ? 60 : Math.max(10, Math.round(window / 5));
            const out: number[] = [];
            for (let t = max - window; t <= max + 0.001; t += step) out.push(t);
            return out;
          },
          values: (u, splits) => {
            const max = u.scales.x.max ?? 0;
            return splits.map((t) => {
              const ago = Math.round(max - t);
              if (ago <= 0) return 'now';
              return ago % 60 === 0 ? `−${ago / 60} min` : `−${ago} s`;
            });
          },
        },
        {
          stroke: AXIS,
          grid: { stroke: GRID },
          ticks: { stroke: GRID },
          font: '13px system-ui, sans-serif',
          size: 60,
          values: (_u, vals) => vals.map((v) => formatRate(v)),
        },
      ],
      series: [
        {},
        {
          label: 'events/s (60 s average)',
          stroke: '#4cc9f0',
          width: 2.5,
          fill: 'rgba(76,201,240,0.12)',
          points: { show: false },
        },
        {
          label: 'events/s (this second)',
          stroke: 'rgba(247,185,85,0.85)',
          width: 1.5,
          dash: [4, 4],
          points: { show: false },
        },
      ],
    };
    const u = new uPlot(opts, history.columns() as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      u.setSize({ width: el.clientWidth, height: el.clientHeight });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [history]);

  useEffect(() => {
    plot.current?.setData(history.columns() as uPlot.AlignedData);
  }, [history, version]);

  const last = history.last();
  return (
    <div
      className="chart"
      ref={box}
      data-testid="rate-chart"
      data-points={history.size}
      data-last-avg={last?.avg ?? ''}
      data-last-instant={last?.instant ?? ''}
      role="img"
      aria-label={`Events per second over the last ${history.windowSeconds / 60} minutes`}
    />
  );
}
