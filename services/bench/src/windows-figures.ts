// `npm run bench -- windows`: its options, and the figures, ratios and goals made of the
// raw samples that web/bench/windows.ts measures in chromium (pure, so that tables test them).
import { parseArgs } from 'node:util';
import { positiveInts } from './args';
import { median } from './stats';

export interface WindowsOptions {
  rounds: number;
  smallJobs: number;
  largeJobs: number;
  rate: number;
  seconds: number;
  json: boolean;
}

const DEFAULTS = { rounds: 3, small: 10, large: 100_000, rate: 1000, seconds: 10 };
/** `--quick`: a smoke run that shows the bench works, not figures to keep. */
const QUICK = { rounds: 1, small: 10, large: 10_000, rate: 1000, seconds: 3 };
type Numeric = keyof typeof DEFAULTS;

export function parseWindowsOptions(argv: string[]): WindowsOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      small: { type: 'string' },
      large: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
    },
  });
  const base = values.quick ? QUICK : DEFAULTS;
  const keys = Object.keys(DEFAULTS) as Numeric[];
  const given: Partial<Record<Numeric, number>> = positiveInts(Object.fromEntries(keys.filter((k) => values[k] !== undefined).map((k) => [k, values[k]])));
  const n = (k: Numeric) => given[k] ?? base[k];
  return { rounds: n('rounds'), smallJobs: n('small'), largeJobs: n('large'), rate: n('rate'), seconds: n('seconds'), json: values.json ?? false };
}

// The shape web/bench/windows.ts returns (its WindowsRaw): that file runs in the web
// workspace, with the DOM types this package does not have.
export type ProjectSize = 'small' | 'large';
export type LoadKind = 'cold' | 'warm';

export interface LoadSample {
  project: ProjectSize;
  kind: LoadKind;
  round: number;
  msToFirstRows: number;
  requests: number;
  httpBytes: number;
  apiBytes: number;
  wsBytes: number;
}

export interface UnderLoad {
  changes: number;
  writeSeconds: number;
  longTasks: number[];
  frames: number;
  scrollMs: number;
  rowsLoaded: number;
  totalShown: number | null;
  totalInDb: number;
  msToAgree: number | null;
}

export interface WindowsRaw {
  jobs: Record<ProjectSize, number>;
  samples: LoadSample[];
  underLoad: UnderLoad;
}

export interface FirstRows {
  samples: number;
  ms: number;
  /** HTTP and WebSocket bytes transferred until the first rows. */
  bytes: number;
  apiBytes: number;
  requests: number;
}

export interface LongTasks {
  count: number;
  totalMs: number;
  maxMs: number;
  over200: number;
}

export interface WindowsFigures {
  jobs: Record<ProjectSize, number>;
  firstRows: Record<ProjectSize, Record<LoadKind, FirstRows>>;
  /** Large over small, time to first rows (null without both). */
  ratios: Record<LoadKind, number | null>;
  underLoad: {
    changesPerSecond: number;
    longTasks: LongTasks;
    fps: number | null;
    rowsLoaded: number;
    totalShown: number | null;
    totalInDb: number;
    msToAgree: number | null;
  };
}

export interface Goal {
  goal: string;
  value: number | null;
  met: boolean | null;
}

/** Medians of a project's cold or warm samples (NaN without any). */
export function firstRowsOf(samples: LoadSample[], project: ProjectSize, kind: LoadKind): FirstRows {
  const mine = samples.filter((s) => s.project === project && s.kind === kind);
  const m = (f: (s: LoadSample) => number) => median(mine.map(f));
  return { samples: mine.length, ms: m((s) => s.msToFirstRows), bytes: m((s) => s.httpBytes + s.wsBytes), apiBytes: m((s) => s.apiBytes), requests: m((s) => s.requests) };
}

export function longTasksOf(durations: number[]): LongTasks {
  return {
    count: durations.length,
    totalMs: durations.reduce((a, b) => a + b, 0),
    maxMs: durations.length ? Math.max(...durations) : 0,
    over200: durations.filter((d) => d > 200).length,
  };
}

/** a / b, or null when either is not a positive finite number. */
export const ratioOf = (a: number, b: number): number | null => (Number.isFinite(a) && Number.isFinite(b) && a >= 0 && b > 0 ? a / b : null);

export function windowsFigures(raw: WindowsRaw): WindowsFigures {
  const of = (p: ProjectSize) => ({ cold: firstRowsOf(raw.samples, p, 'cold'), warm: firstRowsOf(raw.samples, p, 'warm') });
  const firstRows = { small: of('small'), large: of('large') };
  const u = raw.underLoad;
  return {
    jobs: raw.jobs,
    firstRows,
    ratios: { cold: ratioOf(firstRows.large.cold.ms, firstRows.small.cold.ms), warm: ratioOf(firstRows.large.warm.ms, firstRows.small.warm.ms) },
    underLoad: {
      changesPerSecond: u.writeSeconds > 0 ? u.changes / u.writeSeconds : 0,
      longTasks: longTasksOf(u.longTasks),
      fps: u.scrollMs > 0 ? (u.frames * 1000) / u.scrollMs : null,
      rowsLoaded: u.rowsLoaded,
      totalShown: u.totalShown,
      totalInDb: u.totalInDb,
      msToAgree: u.msToAgree,
    },
  };
}

function atMost(goal: string, value: number | null, limit: number): Goal {
  const measured = value !== null && Number.isFinite(value) ? value : null;
  return { goal, value: measured, met: measured === null ? null : measured <= limit };
}

/** Issue 26's goals, each with its value and whether this run met it (null: not measured). */
export function windowsGoals(f: WindowsFigures): Goal[] {
  const worst = (k: LoadKind) => Math.max(f.firstRows.small[k].ms, f.firstRows.large[k].ms);
  return [
    atMost('first rows, large against small project, cold ≤ 1.5x', f.ratios.cold, 1.5),
    atMost('first rows, large against small project, warm ≤ 1.5x', f.ratios.warm, 1.5),
    atMost('first rows cold ≤ 1,000 ms (either project)', worst('cold'), 1000),
    atMost('first rows warm ≤ 300 ms (either project)', worst('warm'), 300),
    atMost('long tasks over 200 ms under the changes = 0', f.underLoad.longTasks.over200, 0),
  ];
}

const round3 = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

/** The final line of `npm run bench -- windows --json`: every figure, the ratios and the goals. */
export function windowsJson(f: WindowsFigures, o: WindowsOptions, extra: { cores: number; loadAtStart: number[] }): Record<string, unknown> {
  const fr = (x: FirstRows) => ({ samples: x.samples, ms: round3(x.ms), bytes: round3(x.bytes), apiBytes: round3(x.apiBytes), requests: round3(x.requests) });
  const u = f.underLoad;
  return {
    bench: 'windows',
    rounds: o.rounds,
    jobs: f.jobs,
    cores: extra.cores,
    loadAtStart: extra.loadAtStart.map((x) => Math.round(x * 100) / 100),
    firstRows: { small: { cold: fr(f.firstRows.small.cold), warm: fr(f.firstRows.small.warm) }, large: { cold: fr(f.firstRows.large.cold), warm: fr(f.firstRows.large.warm) } },
    largeOverSmall: { cold: round3(f.ratios.cold), warm: round3(f.ratios.warm) },
    underLoad: {
      seconds: o.seconds,
      changesPerSecondAsked: o.rate,
      changesPerSecond: round3(u.changesPerSecond),
      longTasks: { count: u.longTasks.count, totalMs: round3(u.longTasks.totalMs), maxMs: round3(u.longTasks.maxMs), over200: u.longTasks.over200 },
      fps: round3(u.fps),
      rowsLoaded: u.rowsLoaded,
      totalShown: u.totalShown,
      totalInDb: u.totalInDb,
      msToAgree: round3(u.msToAgree),
    },
    goals: windowsGoals(f).map((g) => ({ goal: g.goal, value: round3(g.value), met: g.met })),
  };
}
