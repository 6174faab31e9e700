// The live benchmark's pure parts: its options, its scenarios, the order of the designs in
// each round, the medians across rounds and the final JSON line. live.ts does the IO.
import { parseArgs } from 'node:util';
import { BenchArgsError, positiveInts } from './args';
import { median } from './stats';

export type Design = 'ours' | 'naive';
export const DESIGNS: readonly Design[] = ['ours', 'naive'];

/** One load: `sockets` connections with `perSocket` subscriptions each, a writer at `rate` changes/s. */
export interface Scenario {
  name: ScenarioName;
  label: string;
  sockets: number;
  perSocket: number;
  rate: number;
  /**
   * Unfiltered: every subscription wants every change and every one is measured.
   * Filtered: each subscription wants its own project; the writer writes to one of them
   * (the hot project, whose one subscription is measured) and the others must get nothing.
   */
  filtered: boolean;
}

export const SCENARIO_NAMES = ['clients-100', 'clients-1000', 'fanout-100', 'fanout-10000'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  'clients-100': { name: 'clients-100', label: '100 clients × 1,000 changes/s', sockets: 100, perSocket: 1, rate: 1000, filtered: false },
  'clients-1000': { name: 'clients-1000', label: '1,000 clients × 100 changes/s', sockets: 1000, perSocket: 1, rate: 100, filtered: false },
  // The same 100 sockets in both fan-out cases, so that only the subscription count differs.
  'fanout-100': { name: 'fanout-100', label: '100 filtered subscriptions, 1,000 changes/s to one project', sockets: 100, perSocket: 1, rate: 1000, filtered: true },
  'fanout-10000': { name: 'fanout-10000', label: '10,000 filtered subscriptions, 1,000 changes/s to one project', sockets: 100, perSocket: 100, rate: 1000, filtered: true },
};

export const subscriptionsOf = (s: Scenario): number => s.sockets * s.perSocket;
/** Subscriptions whose deliveries are timed: all when unfiltered, the hot project's one when filtered. */
export const measuredOf = (s: Scenario): number => (s.filtered ? 1 : subscriptionsOf(s));

export interface LiveOptions {
  rounds: number;
  /** How long each scenario's writer writes, per design and round. */
  seconds: number;
  /** Changes stamped before the replay to one client. */
  rows: number;
  json: boolean;
  scenarios: ScenarioName[];
}

const DEFAULTS = { rounds: 3, seconds: 5, rows: 200_000 };
/** `--quick`: a smoke run that shows the bench works, not figures to keep. */
const QUICK = { rounds: 1, seconds: 2, rows: 50_000 };

export function parseLiveOptions(argv: string[]): LiveOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      rows: { type: 'string' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      scenarios: { type: 'string' },
    },
  });
  const base = values.quick ? QUICK : DEFAULTS;
  const asked = Object.fromEntries((['rounds', 'seconds', 'rows'] as const).filter((k) => values[k] !== undefined).map((k) => [k, values[k]]));
  const given: Partial<Record<'rounds' | 'seconds' | 'rows', number>> = positiveInts(asked);
  const n = (k: 'rounds' | 'seconds' | 'rows') => given[k] ?? base[k];
  let scenarios: ScenarioName[] = [...SCENARIO_NAMES];
  if (values.scenarios !== undefined) {
    const asked = values.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = asked.filter((s) => !(SCENARIO_NAMES as readonly string[]).includes(s));
    if (asked.length === 0 || unknown.length) throw new BenchArgsError(`--scenarios takes a comma-separated list of ${SCENARIO_NAMES.join(', ')}; got "${values.scenarios}"`);
    scenarios = SCENARIO_NAMES.filter((s) => asked.includes(s));
  }
  return { rounds: n('rounds'), seconds: n('seconds'), rows: n('rows'), json: values.json ?? false, scenarios };
}

/** Which design goes first in round r (1-based): they alternate, so neither always runs on a warmer or busier machine. */
export function roundOrder(round: number): Design[] {
  return round % 2 === 1 ? ['ours', 'naive'] : ['naive', 'ours'];
}

/** One design's figures in one scenario and round, as the benchmark clients report them. */
export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  /** Deliveries to measured subscriptions over changes written times measured subscriptions. */
  delivered: number;
  /** Changes that reached a subscription whose filter excludes them (must be 0). */
  stray: number;
}

/** Median of each figure over the rounds; a figure no round measured (NaN) stays NaN. */
export function aggregate(runs: Latency[]): Latency {
  const m = (k: keyof Latency) => {
    const xs = runs.map((r) => r[k]).filter((x) => !Number.isNaN(x));
    return xs.length ? median(xs) : Number.NaN;
  };
  return { p50: m('p50'), p95: m('p95'), p99: m('p99'), delivered: m('delivered'), stray: m('stray') };
}

/** a / b, or null when either is not a measured number or b is 0. */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

export type Runs = Partial<Record<ScenarioName, Record<Design, Latency[]>>>;

export interface ScenarioResult {
  label: string;
  subscriptions: number;
  rate: number;
  ours: Latency;
  naive: Latency;
}

export interface LiveResult {
  rounds: number;
  seconds: number;
  /** The load average (1, 5, 15 minutes) when the run began. */
  loadAtStart: number[];
  cores: number;
  scenarios: Partial<Record<ScenarioName, ScenarioResult>>;
  /** Changes per second to one client from since = 0; `rows`: how many changes that replay carried. */
  replay: { rows: number; ours: number; naive: null };
}

export function summarize(runs: Runs): Partial<Record<ScenarioName, ScenarioResult>> {
  const out: Partial<Record<ScenarioName, ScenarioResult>> = {};
  for (const name of SCENARIO_NAMES) {
    const r = runs[name];
    if (!r) continue;
    const s = SCENARIOS[name];
    out[name] = { label: s.label, subscriptions: subscriptionsOf(s), rate: s.rate, ours: aggregate(r.ours), naive: aggregate(r.naive) };
  }
  return out;
}

/** The goals this benchmark's figures are judged on, with what each compares. */
export interface Judged {
  goal: string;
  value: number | null;
  met: boolean | null;
}

const atMost = (goal: string, value: number | null, bound: number): Judged => ({ goal, value, met: value === null ? null : value <= bound + 1e-9 });
const atLeast = (goal: string, value: number | null, bound: number): Judged => ({ goal, value, met: value === null ? null : value >= bound });

/** The ratios the goals are stated in: ours over naive, 10,000 over 100 subscriptions, replay over its floor. */
export function goals(r: LiveResult): Judged[] {
  const out: Judged[] = [];
  for (const name of ['clients-100', 'clients-1000'] as const) {
    const s = r.scenarios[name];
    if (!s) continue;
    out.push(atMost(`${name}: ours p50 / naive p50 ≤ 1`, ratio(s.ours.p50, s.naive.p50), 1));
    out.push(atMost(`${name}: ours p99 / naive p99 ≤ 1`, ratio(s.ours.p99, s.naive.p99), 1));
  }
  const few = r.scenarios['fanout-100'];
  const many = r.scenarios['fanout-10000'];
  if (few && many) out.push(atMost('fan-out: ours p99 at 10,000 / at 100 subscriptions ≤ 1.5', ratio(many.ours.p99, few.ours.p99), 1.5));
  out.push(atLeast('replay to one client ≥ 100,000 changes/s', Number.isFinite(r.replay.ours) ? r.replay.ours : null, 100_000));
  return out;
}

const num = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);
const lat = (l: Latency) => ({ p50: num(l.p50), p95: num(l.p95), p99: num(l.p99), delivered: num(l.delivered), stray: num(l.stray) });

/** The final line of `npm run bench -- live --json`: every figure, the ratios and the goals. */
export function liveJson(r: LiveResult): Record<string, unknown> {
  const scenarios: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(r.scenarios) as [ScenarioName, ScenarioResult][]) {
    scenarios[name] = {
      label: s.label,
      subscriptions: s.subscriptions,
      changesPerSecond: s.rate,
      ours: lat(s.ours),
      naive: lat(s.naive),
      oursOverNaive: { p50: num(ratio(s.ours.p50, s.naive.p50) ?? Number.NaN), p95: num(ratio(s.ours.p95, s.naive.p95) ?? Number.NaN), p99: num(ratio(s.ours.p99, s.naive.p99) ?? Number.NaN) },
    };
  }
  const few = r.scenarios['fanout-100'];
  const many = r.scenarios['fanout-10000'];
  return {
    bench: 'live',
    rounds: r.rounds,
    seconds: r.seconds,
    cores: r.cores,
    loadAtStart: r.loadAtStart.map((x) => Math.round(x * 100) / 100),
    scenarios,
    fanoutP99Ratio: few && many ? { ours: num(ratio(many.ours.p99, few.ours.p99) ?? Number.NaN), naive: num(ratio(many.naive.p99, few.naive.p99) ?? Number.NaN) } : null,
    replay: { rows: r.replay.rows, ours: num(r.replay.ours), naive: null },
    goals: goals(r).map((g) => ({ goal: g.goal, value: g.value === null ? null : num(g.value), met: g.met })),
  };
}

/** What the clients process opens for a scenario, and what the writer writes to. */
export interface ScenarioPlan {
  sockets: { filter?: { project_id: string }; measured: boolean }[][];
  /** The project written to: the hot one when filtered, a fresh one (null) when not. */
  project: string | null;
  measured: number;
}

/**
 * Unfiltered: one subscription per socket, all timed. Filtered: subscription j of socket i
 * wants projects[i * perSocket + j]; the first is the hot project, the only one timed and
 * the only one written to.
 */
export function scenarioPlan(s: Scenario, projects: readonly string[]): ScenarioPlan {
  if (!s.filtered) {
    return { sockets: Array.from({ length: s.sockets }, () => Array.from({ length: s.perSocket }, () => ({ measured: true }))), project: null, measured: subscriptionsOf(s) };
  }
  if (projects.length < subscriptionsOf(s)) throw new Error(`${s.name} needs ${subscriptionsOf(s)} projects, got ${projects.length}`);
  const sockets = Array.from({ length: s.sockets }, (_, i) => Array.from({ length: s.perSocket }, (_, j) => ({ filter: { project_id: projects[i * s.perSocket + j]! }, measured: i === 0 && j === 0 })));
  return { sockets, project: projects[0]!, measured: 1 };
}
