/**
 * Two small SVG charts, drawn by hand (no chart library to ship): lines over time and a bar
 * histogram. Each has a text summary for screen readers; the SVG scales with its box.
 */

export interface Series {
  name: string;
  color: string;
  /** [time ms, value], oldest first. */
  points: Array<[number, number]>;
}

const W = 600;
const H = 200;
const PAD = { left: 36, right: 8, top: 8, bottom: 22 };

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const step = 10 ** Math.floor(Math.log10(n));
  return Math.ceil(n / step) * step;
}

export function LineChart({ series, label }: { series: Series[]; label: string }) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return <p class="muted">No data yet.</p>;
  const x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(...all.map((p) => p[0]), x0 + 1);
  const yMax = niceMax(Math.max(...all.map((p) => p[1])));
  const x = (t: number) => PAD.left + ((t - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  const summary = series.map((s) => `${s.name} ${s.points.at(-1)?.[1] ?? 0}`).join(', ');
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label}: now ${summary}`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(yMax * f)} y2={y(yMax * f)} class="grid" />
            <text x={PAD.left - 4} y={y(yMax * f) + 4} text-anchor="end" class="axis">
              {Math.round(yMax * f)}
            </text>
          </g>
        ))}
        <text x={PAD.left} y={H - 4} class="axis">
          {new Date(x0).toLocaleTimeString()}
        </text>
        <text x={W - PAD.right} y={H - 4} text-anchor="end" class="axis">
          {new Date(x1).toLocaleTimeString()}
        </text>
        {series.map((s) => (
          <polyline key={s.name} fill="none" stroke={s.color} stroke-width="2" points={s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} />
        ))}
      </svg>
      <figcaption class="legend">
        {series.map((s) => (
          <span key={s.name}>
            <i style={{ background: s.color }} /> {s.name} {s.points.at(-1)?.[1] ?? 0}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

export function Histogram({ buckets, label }: { buckets: Array<{ label: string; count: number }>; label: string }) {
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.count)));
  const slot = (W - PAD.left - PAD.right) / Math.max(1, buckets.length);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label}: ${buckets.map((b) => `${b.label}: ${b.count}`).join(', ')}`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} class="grid" />
            <text x={PAD.left - 4} y={y(max * f) + 4} text-anchor="end" class="axis">
              {Math.round(max * f)}
            </text>
          </g>
        ))}
        {buckets.map((b, i) => (
          <g key={b.label}>
            <rect x={PAD.left + i * slot + 3} width={slot - 6} y={y(b.count)} height={H - PAD.bottom - y(b.count)} class="bar" />
            <text x={PAD.left + i * slot + slot / 2} y={H - 6} text-anchor="middle" class="axis">
              {b.label}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}
