// `npm run bench -- scale`: its options, and the figures, ratios and goals made of what
// scale.ts measures with the change log on (REDIS_URL) and off (pure, so that tables test them).
import { parseArgs } from 'node:util';
import { BenchArgsError, positiveInts } from './args';
import { ratioOf, type Goal } from './windows-figures';

export interface ScaleOptions {
  /** Storm sockets on gateway A. */
  sockets: number;
  /** Subscriptions per storm socket (one project each). */
  subs: number;
  /** Changes each storm subscription misses while A is gone. */
  missed: number;
  /** Seconds of writes per live measurement, and of the unaffected clients' window before the storm. */
  seconds: number;
  /** Clients on another gateway that the storm should leave alone. */
  unaffected: number;
  /** Changes per second of the live measurements. */
  rate: number;
  /** Both parts (null), or only one of them. */
  only: ScalePart | null;
  /** The gateways' REPLAY_RING_CHANGES (0, the default: no ring). */
  ring: number;
  json: boolean;
}

export type ScalePart = 'live' | 'storm';
const PARTS: readonly ScalePart[] = ['live', 'storm'];

const DEFAULTS = { sockets: 5000, subs: 5, missed: 100, seconds: 10, unaffected: 200, rate: 500 };
type Numeric = keyof typeof DEFAULTS;

/** The gateway counts the live latency is measured with. */
export const GATEWAY_COUNTS = [1, 2, 4] as const;

export function parseScaleOptions(argv: string[]): ScaleOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      sockets: { type: 'string' },
      subs: { type: 'string' },
      missed: { type: 'string' },
      seconds: { type: 'string' },
      unaffected: { type: 'string' },
      rate: { type: 'string' },
      only: { type: 'string' },
      ring: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const only = values.only ?? null;
  if (only !== null && !PARTS.includes(only as ScalePart)) throw new BenchArgsError(`--only takes ${PARTS.join(' or ')}, got "${only}"`);
  // 0 is a ring size (none), so not among the positive numbers.
  const ringText = values.ring ?? '0';
  if (!/^\d+$/.test(ringText.trim())) throw new BenchArgsError(`--ring must be a whole number of changes (0: no ring), got "${ringText}"`);
  const keys = Object.keys(DEFAULTS) as Numeric[];
  const given: Partial<Record<Numeric, number>> = positiveInts(Object.fromEntries(keys.filter((k) => values[k] !== undefined).map((k) => [k, values[k]])));
  const n = (k: Numeric) => given[k] ?? DEFAULTS[k];
  return { sockets: n('sockets'), subs: n('subs'), missed: n('missed'), seconds: n('seconds'), unaffected: n('unaffected'), rate: n('rate'), only: only as ScalePart | null, ring: Number(ringText), json: values.json ?? false };
}

/** The change log on (gateways and the replicator with REDIS_URL) or off (the same without it). */
export type LogMode = 'redis' | 'off';

/** One live measurement: the clients spread over `gateways` gateway processes. */
export interface LiveRun {
  mode: LogMode;
  gateways: number;
  p50: number;
  p99: number;
  delivered: number;
  written: number;
  /** pg_stat_database tup_returned + tup_fetched of the bench database over the run. */
  rowsRead: number;
  /** Changes the gateways' live feeds read from the outbox (realtime_feed_changes_total{source="postgres"}, summed). */
  feedFromPostgres: number;
}

export interface Window {
  count: number;
  p50: number | null;
  p99: number | null;
}

/** What the storm clients of one process saw (their JSON line): storm-client.ts. */
export interface StormResult {
  subscriptions: number;
  /** Subscriptions that reached `live` after the resume. */
  live: number;
  resyncs: number;
  /** Refused by the gateway. */
  refused: number;
  /** Why, by error code, with how many subscriptions each. */
  why: Record<string, number>;
  /** Connections tried again after a refusal or reset. */
  retries: number;
  /** Milliseconds from the resume command to the last subscription live (or given up), or the limit. */
  ms: number;
  /** Changes replayed per subscription that went live. */
  replayed: { min: number; mean: number; max: number };
}

/** One reconnect storm: gateway A killed, every subscription resumed on gateway B at once. */
export interface StormRun extends StormResult {
  mode: LogMode;
  /** B's replay pages by source over the storm (realtime_replay_source_total). */
  sources: { ring: number; redis: number; postgres: number };
  /** pg_stat_database tup_returned + tup_fetched over the storm. */
  rowsRead: number;
  /** The unaffected clients (on gateway C): commit-to-client latency before the kill and during the storm. */
  before: Window;
  during: Window;
  /**
   * Gateway C's p99 from commit to the socket over the same windows, in ms, interpolated
   * in its histogram's buckets (realtime_delivery_latency_seconds): the server's share of
   * the unaffected latency. The clients' p99 adds their process's time to take 200
   * messages of each change in turn, which the storm's load on the cores stretches.
   */
  gatewayP99: { before: number | null; during: number | null };
  /**
   * CPU seconds spent during the storm by gateway B and by the storm clients' processes
   * (Linux /proc; null elsewhere). On one machine the storm takes at least their sum over
   * the cores, whatever the gateway does.
   */
  cpu: { gateway: number | null; clients: number | null };
}

export interface ScaleRaw {
  live: LiveRun[];
  storm: StormRun[];
}

export interface ScaleFigures {
  live: (LiveRun & { rowsPerChange: number | null })[];
  storm: (StormRun & { withoutPostgres: number | null; unaffectedP99Ratio: number | null; gatewayP99Ratio: number | null })[];
  ratios: {
    /** Redis on over off, live p50, by gateway count. */
    p50RedisOverOff: Record<number, number | null>;
    /** Postgres rows read per change written, 4 gateways over 1, by mode. */
    rowsFourOverOne: Record<LogMode, number | null>;
    /** Postgres rows read during the storm, Redis on over off. */
    stormRowsRedisOverOff: number | null;
  };
}

/** Share of replay pages served from memory or the change log (null when none was served). */
export function withoutPostgres(s: StormRun['sources']): number | null {
  const all = s.ring + s.redis + s.postgres;
  return all > 0 ? (s.ring + s.redis) / all : null;
}

export function scaleFigures(raw: ScaleRaw): ScaleFigures {
  const live = raw.live.map((r) => ({ ...r, rowsPerChange: r.written > 0 ? r.rowsRead / r.written : null }));
  const find = (mode: LogMode, gateways: number) => live.find((r) => r.mode === mode && r.gateways === gateways);
  const storm = raw.storm.map((s) => ({ ...s, withoutPostgres: withoutPostgres(s.sources), unaffectedP99Ratio: ratioOf(s.during.p99 ?? Number.NaN, s.before.p99 ?? Number.NaN), gatewayP99Ratio: ratioOf(s.gatewayP99.during ?? Number.NaN, s.gatewayP99.before ?? Number.NaN) }));
  const stormOf = (mode: LogMode) => raw.storm.find((s) => s.mode === mode);
  const gatewayCounts = [...new Set(live.map((r) => r.gateways))].sort((a, b) => a - b);
  const fourOverOne = (mode: LogMode) => ratioOf(find(mode, 4)?.rowsPerChange ?? Number.NaN, find(mode, 1)?.rowsPerChange ?? Number.NaN);
  return {
    live,
    storm,
    ratios: {
      p50RedisOverOff: Object.fromEntries(gatewayCounts.map((g) => [g, ratioOf(find('redis', g)?.p50 ?? Number.NaN, find('off', g)?.p50 ?? Number.NaN)])),
      rowsFourOverOne: { redis: fourOverOne('redis'), off: fourOverOne('off') },
      stormRowsRedisOverOff: ratioOf(stormOf('redis')?.rowsRead ?? Number.NaN, stormOf('off')?.rowsRead ?? Number.NaN),
    },
  };
}

const measured = (value: number | null) => (value !== null && Number.isFinite(value) ? value : null);
const atMost = (goal: string, value: number | null, limit: number): Goal => {
  const v = measured(value);
  return { goal, value: v, met: v === null ? null : v <= limit };
};
const atLeast = (goal: string, value: number | null, limit: number): Goal => {
  const v = measured(value);
  return { goal, value: v, met: v === null ? null : v >= limit };
};

/** The goals, each with its value and whether this run met it (null: not measured). */
export function scaleGoals(f: ScaleFigures): Goal[] {
  const storm = f.storm.find((s) => s.mode === 'redis');
  const p50s = Object.values(f.ratios.p50RedisOverOff).filter((x): x is number => x !== null);
  // Not all live again is a miss, however soon the others were.
  const allLive: Goal = storm
    ? { goal: 'storm with Redis: every subscription live again within 10 s (seconds)', value: storm.ms / 1000, met: storm.live === storm.subscriptions && storm.ms <= 10_000 }
    : { goal: 'storm with Redis: every subscription live again within 10 s (seconds)', value: null, met: null };
  return [
    atLeast('storm with Redis: replay pages served without Postgres ≥ 99%', storm?.withoutPostgres ?? null, 0.99),
    atMost('storm: Postgres rows read, Redis on over off ≤ 1%', f.ratios.stormRowsRedisOverOff, 0.01),
    allLive,
    atMost('storm with Redis: unaffected clients p99 during over before ≤ 2x', storm?.unaffectedP99Ratio ?? null, 2),
    atMost('live with Redis: Postgres rows read per change, 4 gateways over 1 ≤ 1.1', f.ratios.rowsFourOverOne.redis, 1.1),
    atMost('live p50, Redis on over off ≤ 1.2x (the worst gateway count)', p50s.length ? Math.max(...p50s) : null, 1.2),
  ];
}

const round3 = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);
const window3 = (w: Window): Window => ({ count: w.count, p50: round3(w.p50), p99: round3(w.p99) });

/** The final line of `npm run bench -- scale --json`: every figure, the ratios and the goals. */
export function scaleJson(f: ScaleFigures, o: ScaleOptions, extra: { cores: number; loadAtStart: number[] }): Record<string, unknown> {
  return {
    bench: 'scale',
    options: { sockets: o.sockets, subs: o.subs, missed: o.missed, seconds: o.seconds, unaffected: o.unaffected, rate: o.rate, only: o.only, ring: o.ring },
    cores: extra.cores,
    loadAtStart: extra.loadAtStart.map((x) => Math.round(x * 100) / 100),
    rowsRead: 'pg_stat_database tup_returned + tup_fetched of the bench database: rows and index entries its scans read',
    live: f.live.map((r) => ({ mode: r.mode, gateways: r.gateways, p50: round3(r.p50), p99: round3(r.p99), delivered: round3(r.delivered), written: r.written, rowsRead: r.rowsRead, rowsPerChange: round3(r.rowsPerChange), feedFromPostgres: r.feedFromPostgres })),
    storm: f.storm.map((s) => ({
      mode: s.mode,
      subscriptions: s.subscriptions,
      live: s.live,
      resyncs: s.resyncs,
      refused: s.refused,
      why: s.why,
      connectRetries: s.retries,
      seconds: round3(s.ms / 1000),
      replayed: { min: s.replayed.min, mean: round3(s.replayed.mean), max: s.replayed.max },
      sources: s.sources,
      withoutPostgres: round3(s.withoutPostgres),
      rowsRead: s.rowsRead,
      cpuSeconds: { gateway: round3(s.cpu.gateway), stormClients: round3(s.cpu.clients) },
      unaffected: {
        before: window3(s.before),
        during: window3(s.during),
        p99Ratio: round3(s.unaffectedP99Ratio),
        gatewayP99: { before: round3(s.gatewayP99.before), during: round3(s.gatewayP99.during), ratio: round3(s.gatewayP99Ratio) },
      },
    })),
    ratios: {
      p50RedisOverOff: Object.fromEntries(Object.entries(f.ratios.p50RedisOverOff).map(([g, x]) => [g, round3(x)])),
      rowsFourOverOne: { redis: round3(f.ratios.rowsFourOverOne.redis), off: round3(f.ratios.rowsFourOverOne.off) },
      stormRowsRedisOverOff: round3(f.ratios.stormRowsRedisOverOff),
    },
    goals: scaleGoals(f).map((g) => ({ goal: g.goal, value: round3(g.value), met: g.met })),
  };
}
