// docs/benchmarks.svg as a string: grouped bar panels (latency percentiles, fan-out, write
// and stream throughput, changes missed), ours beside the baseline. Hand-written SVG keeps
// the benchmark free of a charting dependency; each panel has its own scale.
import { scenarioOf, type Results } from './report';

export type Series = 'ours' | 'baseline' | 'reference';
export interface Bar {
  label: string;
  series: Series;
  /** null: the design has no such figure; drawn as a label, not a bar. */
  value: number | null;
  /** 1 is full color; lighter shades tell percentiles apart within a series. */
  shade?: number;
}
export interface Group {
  label: string;
  bars: Bar[];
  /** Drawn as a dashed line across the group; the panel's unit line says what it is. */
  goal?: number;
}
export interface Panel {
  title: string;
  unit: string;
  groups: Group[];
}

const COLOR: Record<Series, string> = { ours: '#2563eb', baseline: '#ea580c', reference: '#9ca3af' };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The smallest 1, 2 or 5 times a power of ten that is at least `n` (1 for nothing). */
export function niceCeil(n: number): number {
  if (!(n > 0) || !Number.isFinite(n)) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/** Short labels for axis ticks and bar values: 12,500 as 12.5k. */
export function compact(n: number): string {
  if (Math.abs(n) >= 1000) return `${Number((n / 1000).toFixed(1))}k`;
  return String(Number(n.toFixed(n < 10 && n % 1 ? 2 : 0)));
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** One panel at (x, y) of size w by h: title, axis with ticks, the bars, group labels. */
export function renderPanel(p: Panel, x: number, y: number, w: number, h: number): string {
  const top = y + 36;
  const bottom = y + h - 46;
  const left = x + 52;
  const right = x + w - 10;
  const values = p.groups.flatMap((g) => [...g.bars.map((b) => b.value ?? 0), g.goal ?? 0]);
  const max = niceCeil(Math.max(0, ...values));
  const scale = (v: number) => ((bottom - top) * v) / max;
  const parts: string[] = [`<text x="${x + 4}" y="${y + 16}" class="title">${escapeXml(p.title)}</text>`, `<text x="${x + 4}" y="${y + 30}" class="unit">${escapeXml(p.unit)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const ty = r1(bottom - scale(v));
    parts.push(`<line x1="${left}" y1="${ty}" x2="${right}" y2="${ty}" class="grid"/>`, `<text x="${left - 4}" y="${ty + 3}" class="tick">${compact(v)}</text>`);
  }
  const slot = (right - left) / Math.max(1, p.groups.length);
  p.groups.forEach((g, gi) => {
    const gx = left + gi * slot;
    const bw = Math.min(64, (slot - 16) / Math.max(1, g.bars.length));
    const start = gx + (slot - bw * g.bars.length) / 2;
    g.bars.forEach((b, bi) => {
      const bx = r1(start + bi * bw);
      const cx = r1(bx + bw / 2);
      if (b.value === null) {
        parts.push(`<text x="${cx}" y="${bottom - 4}" class="none">none</text>`);
      } else {
        const bh = r1(Math.max(b.value > 0 ? 1 : 0, scale(b.value)));
        parts.push(
          `<rect x="${bx}" y="${r1(bottom - bh)}" width="${r1(bw - 2)}" height="${bh}" fill="${COLOR[b.series]}" fill-opacity="${b.shade ?? 1}" class="${b.series}"><title>${escapeXml(`${g.label}, ${b.series} ${b.label}: ${b.value}`)}</title></rect>`,
          `<text x="${cx}" y="${r1(bottom - bh - 3)}" class="value">${compact(b.value)}</text>`,
        );
      }
      parts.push(`<text x="${cx}" y="${bottom + 12}" class="bar">${escapeXml(b.label)}</text>`);
    });
    if (g.goal !== undefined) {
      const gy = r1(bottom - scale(g.goal));
      parts.push(`<line x1="${r1(gx + 4)}" y1="${gy}" x2="${r1(gx + slot - 4)}" y2="${gy}" class="goal"/>`);
    }
    parts.push(`<text x="${r1(gx + slot / 2)}" y="${bottom + 28}" class="group">${escapeXml(g.label)}</text>`);
  });
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" class="axis"/>`);
  return parts.join('\n');
}

/** Panels in a grid of two columns, a legend on top. */
export function renderSvg(title: string, panels: Panel[], width = 960, panelHeight = 300): string {
  const cols = 2;
  const head = 48;
  const pw = width / cols;
  const height = head + Math.ceil(panels.length / cols) * panelHeight;
  const legend = (['ours', 'baseline', 'reference'] as Series[])
    .map((s, i) => `<rect x="${12 + i * 150}" y="28" width="12" height="12" fill="${COLOR[s]}"/><text x="${30 + i * 150}" y="38" class="legend">${{ ours: 'ours (outbox)', baseline: 'baseline (naive)', reference: 'reference' }[s]}</text>`)
    .join('');
  const body = panels.map((p, i) => renderPanel(p, (i % cols) * pw, head + Math.floor(i / cols) * panelHeight, pw, panelHeight)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
.title{font-size:13px;font-weight:bold}.unit,.legend{font-size:11px;fill:#374151}.tick{font-size:10px;text-anchor:end;fill:#6b7280}
.grid{stroke:#e5e7eb}.axis{stroke:#374151}.value{font-size:9px;text-anchor:middle;fill:#111827}.bar{font-size:9px;text-anchor:middle;fill:#4b5563}
.group{font-size:11px;text-anchor:middle}.none{font-size:9px;text-anchor:middle;fill:#ea580c}.goal{stroke:#16a34a;stroke-width:1.5;stroke-dasharray:5 3}
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="18" class="title">${escapeXml(title)}</text>
${legend}
${body}
</svg>
`;
}

const SHADES = [0.45, 0.7, 1];
/** A figure the run did not measure (NaN) is drawn as none, not as a bar of no height. */
const measured = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The five panels of docs/benchmarks.svg, from a full run's results. */
export function benchmarkPanels(r: Results): Panel[] {
  const pct = (ours: { p50: number; p95: number; p99: number }, base: { p50: number; p95: number; p99: number }): Bar[] => [
    ...(['p50', 'p95', 'p99'] as const).map((k, i) => ({ label: k, series: 'ours' as const, value: measured(ours[k]), shade: SHADES[i]! })),
    ...(['p50', 'p95', 'p99'] as const).map((k, i) => ({ label: k, series: 'baseline' as const, value: measured(base[k]), shade: SHADES[i]! })),
  ];
  const c100 = scenarioOf(r, 'clients-100');
  const c1000 = scenarioOf(r, 'clients-1000');
  const f100 = scenarioOf(r, 'fanout-100');
  const f10k = scenarioOf(r, 'fanout-10000');
  return [
    {
      title: 'Live latency, commit to client',
      unit: 'ms, lower is better (medians of rounds); green dashes: p99 goals, 25 ms and 150 ms',
      groups: [
        { label: '100 clients × 1,000 changes/s', bars: pct(c100.ours, c100.naive), goal: 25 },
        { label: '1,000 clients × 100 changes/s', bars: pct(c1000.ours, c1000.naive), goal: 150 },
      ],
    },
    {
      title: 'Fan-out: 1,000 changes/s to one project',
      unit: 'ms at its subscriber, lower is better; green dashes: 1.5 × our p99 at 100',
      groups: [
        { label: '100 filtered subscriptions', bars: pct(f100.ours, f100.naive) },
        { label: '10,000 filtered subscriptions', bars: pct(f10k.ours, f10k.naive), ...(Number.isFinite(f100.ours.p99) ? { goal: 1.5 * f100.ours.p99 } : {}) },
      ],
    },
    {
      title: 'Write throughput, 8 writers',
      unit: 'transactions/s, higher is better; green dashes: goal, 0.75 of no trigger',
      groups: [
        {
          label: 'single-row UPDATE by id',
          bars: [
            { label: 'no trigger', series: 'reference', value: r.writes.plain },
            { label: 'outbox', series: 'ours', value: r.writes.outbox },
            { label: 'pg_notify', series: 'baseline', value: r.writes.naive },
          ],
          goal: 0.75 * r.writes.plain,
        },
      ],
    },
    {
      title: 'Stream throughput',
      unit: 'changes/s, higher is better; green dashes: goals, 25,000/s and 100,000/s',
      groups: [
        {
          label: 'capture to server',
          bars: [
            { label: 'replicator', series: 'ours', value: r.replicator.ours },
            { label: 'listener', series: 'baseline', value: r.writes.naiveListener },
          ],
          goal: 25_000,
        },
        {
          label: 'replay to one client',
          bars: [
            { label: 'replay', series: 'ours', value: r.live.replay.ours },
            { label: 'replay', series: 'baseline', value: null },
          ],
          goal: 100_000,
        },
      ],
    },
    {
      title: 'A client away ~1 s during writes',
      unit: 'changes it never receives, lower is better',
      groups: [
        {
          label: `of ~${Math.round(r.gateway.loss.written)} inserts`,
          bars: [
            { label: 'missed', series: 'ours', value: r.gateway.loss.missed },
            { label: 'missed', series: 'baseline', value: r.baseline.loss.missed },
          ],
        },
      ],
    },
  ];
}
