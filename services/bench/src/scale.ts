// `npm run bench -- scale`: gateways as separate processes on the shared change log, with
// Redis on and off in one run: live latency and Postgres reads with 1, 2 and 4 gateways,
// then a reconnect storm (scale-storm.ts). Progress lines, a table, the goals, and with
// --json one final JSON line.
import os from 'node:os';
import { waitFor, type RunningMain } from '@realtime/testkit';
import { insertProjects } from './live';
import { liveLatency } from './measure';
import { PGSTAT_SETTLE_MS, startScaleCluster, type ScaleCluster } from './scale-cluster';
import { GATEWAY_COUNTS, parseScaleOptions, scaleFigures, scaleGoals, scaleJson, type LiveRun, type LogMode, type ScaleFigures, type ScaleOptions, type StormRun } from './scale-figures';
import { UNAFFECTED_RATE, stormRun } from './scale-storm';
import { fmt, out } from './stats';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MODES: LogMode[] = ['off', 'redis'];
const MODE_NAME: Record<LogMode, string> = { off: 'Redis off', redis: 'Redis on' };
/** Clients of the live measurements, one unfiltered subscription each, spread over the gateways. */
const LIVE_SOCKETS = 100;
/**
 * Changes stamped before anything is measured: on an outbox of a few thousand rows
 * Postgres scans the whole table rather than an index, and the rows read would say more
 * about that than about the gateways.
 */
const SEED_CHANGES = 100_000;

// Tenths: live medians are a few milliseconds, and their ratio is a goal.
const ms = (x: number | null) => (x !== null && Number.isFinite(x) ? `${x < 100 ? x.toFixed(1) : Math.round(x)} ms` : 'n/a');
const times = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)}x`);
const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function feedFromPostgres(c: ScaleCluster, gateways: RunningMain[]): Promise<number> {
  let n = 0;
  for (const g of gateways) n += await c.metric(g, 'realtime_feed_changes_total', { source: 'postgres' });
  return n;
}

/** Stamps SEED_CHANGES changes and refreshes the planner's statistics. */
async function seed(c: ScaleCluster): Promise<void> {
  await insertProjects(c, SEED_CHANGES, 'seed ');
  await waitFor(async () => (await c.pool.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox WHERE seq IS NULL`)).rows[0]!.n === '0', { what: `the ${fmt(SEED_CHANGES)} seed changes to be stamped`, timeoutMs: 300_000 });
  await c.pool.query('ANALYZE');
}

async function liveRun(c: ScaleCluster, mode: LogMode, gateways: RunningMain[], o: ScaleOptions): Promise<LiveRun> {
  const { rows } = await c.pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('scale live') RETURNING id`);
  // Each run from a vacuumed outbox: without it, the later runs (more gateways) would read
  // the earlier runs' dead index entries as they stamp, and autovacuum would land in
  // whichever window crossed its threshold.
  await c.pool.query('VACUUM ANALYZE');
  // The gateways' counters are read before the counters settle: a scrape of /metrics reads
  // the database (its gauges), once per gateway, and must not count as the gateways' reads.
  const feedBefore = await feedFromPostgres(c, gateways);
  // What came before (the seed, VACUUM, a gateway's start-up) is in the counters first.
  await sleep(PGSTAT_SETTLE_MS);
  const headBefore = await c.head();
  const rowsBefore = await c.rowsRead();
  const plan = { channel: 'extraction_jobs', ports: gateways.map((g) => g.port), sockets: Array.from({ length: LIVE_SOCKETS }, () => [{ measured: true }]) };
  const l = await liveLatency(c.url, gateways[0]!.port, c.token, { plan, rate: o.rate, measured: LIVE_SOCKETS, project: rows[0]!.id }, o.seconds);
  await sleep(PGSTAT_SETTLE_MS);
  // Before the closing scrape, for the same reason as the opening one.
  const rowsRead = (await c.rowsRead()) - rowsBefore;
  return {
    mode,
    gateways: gateways.length,
    p50: l.p50,
    p99: l.p99,
    delivered: l.delivered,
    written: (await c.head()) - headBefore,
    rowsRead,
    feedFromPostgres: (await feedFromPostgres(c, gateways)) - feedBefore,
  };
}

export async function scaleBench(argv: string[]): Promise<ScaleFigures> {
  const o = parseScaleOptions(argv);
  const started = Date.now();
  const clock = () => {
    const s = Math.floor((Date.now() - started) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const progress = (line: string) => out(`  [${clock()}] ${line}`);
  const loadAtStart = os.loadavg();
  out('scale: gateways as processes, Redis off then on');
  if (o.only !== 'storm') out(`       live: ${LIVE_SOCKETS} clients at ${fmt(o.rate)} changes/s for ${o.seconds} s with ${GATEWAY_COUNTS.join(', ')} gateways`);
  if (o.only !== 'live') out(`       storm: ${fmt(o.sockets)} sockets × ${o.subs} subscriptions, ${o.missed} changes missed each, beside ${o.unaffected} unaffected clients at ${UNAFFECTED_RATE} changes/s`);
  out(`       gateways' replay ring ${o.ring ? `${fmt(o.ring)} changes` : 'off (REPLAY_RING_CHANGES=0, the default)'}; ${os.cpus().length} cores; load average at start ${loadavg()} (1, 5, 15 min)`);
  const c = await startScaleCluster();
  const raw: { live: LiveRun[]; storm: StormRun[] } = { live: [], storm: [] };
  try {
    progress('Postgres, Redis up');
    for (const mode of MODES) {
      const replicator = await c.startReplicator(mode);
      const gateways: RunningMain[] = [];
      try {
        if (mode === MODES[0]) {
          await seed(c);
          progress(`${fmt(SEED_CHANGES)} changes in the outbox before the measurements`);
        }
        for (const count of o.only === 'storm' ? [] : GATEWAY_COUNTS) {
          while (gateways.length < count) gateways.push(await c.startGateway(mode, o.ring));
          const r = await liveRun(c, mode, gateways, o);
          raw.live.push(r);
          progress(`${MODE_NAME[mode]}, ${count} gateway(s): p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, ${pct(r.delivered)} delivered; Postgres rows read ${fmt(r.rowsRead)} (${(r.rowsRead / Math.max(1, r.written)).toFixed(1)} per change), feeds read ${fmt(r.feedFromPostgres)} changes from the outbox; load ${loadavg()}`);
        }
        if (o.only === 'live') continue;
        while (gateways.length < 3) gateways.push(await c.startGateway(mode, o.ring));
        for (const extra of gateways.splice(3)) await extra.stop();
        const s = await stormRun(c, mode, [gateways[0]!, gateways[1]!, gateways[2]!], o, (line) => progress(`${MODE_NAME[mode]}: ${line}`));
        raw.storm.push(s);
        progress(`${MODE_NAME[mode]} storm: ${fmt(s.live)} of ${fmt(s.subscriptions)} live again in ${(s.ms / 1000).toFixed(2)} s; replay pages ring ${fmt(s.sources.ring)}, Redis ${fmt(s.sources.redis)}, Postgres ${fmt(s.sources.postgres)}; Postgres rows read ${fmt(s.rowsRead)}; load ${loadavg()}`);
      } finally {
        for (const g of gateways.reverse()) await g.stop();
        await replicator.stop();
      }
    }
  } finally {
    await c.stop();
  }
  const f = scaleFigures(raw);
  printFigures(f, o);
  out(`  load average at the end ${loadavg()}; ${clock()} in all`);
  if (o.json) out(JSON.stringify(scaleJson(f, o, { cores: os.cpus().length, loadAtStart })));
  return f;
}

function printFigures(f: ScaleFigures, o: ScaleOptions): void {
  out('');
  out('  rows read: pg_stat_database tup_returned + tup_fetched of the bench database (rows and index entries its scans read);');
  out('  feed reads: changes the gateways\' live feeds read from the outbox (realtime_feed_changes_total{source="postgres"}, summed)');
  out('');
  out(`  ${'live'.padEnd(12)}${MODES.map((m) => `${MODE_NAME[m]}: p50 / p99, rows per change, feed reads`.padEnd(58)).join('')}p50 on/off`);
  for (const g of GATEWAY_COUNTS) {
    const cell = (m: LogMode) => {
      const r = f.live.find((x) => x.mode === m && x.gateways === g);
      return `${(r ? `${ms(r.p50)} / ${ms(r.p99)}, ${r.rowsPerChange === null ? 'n/a' : r.rowsPerChange.toFixed(2)}, ${fmt(r.feedFromPostgres)}` : 'n/a').padEnd(57)} `;
    };
    out(`  ${`${g} gateway${g > 1 ? 's' : ''}`.padEnd(12)}${MODES.map(cell).join('')}${times(f.ratios.p50RedisOverOff[g] ?? null)}`);
  }
  out(`  rows per change, 4 gateways over 1: Redis on ${times(f.ratios.rowsFourOverOne.redis)}, off ${times(f.ratios.rowsFourOverOne.off)}`);
  out('');
  out(`  storm: ${fmt(o.sockets)} sockets × ${o.subs} subscriptions resuming on gateway B, ${o.missed} changes missed each`);
  const rows: [string, (s: ScaleFigures['storm'][number]) => string][] = [
    ['live again', (s) => `${fmt(s.live)} of ${fmt(s.subscriptions)} in ${(s.ms / 1000).toFixed(2)} s${s.resyncs ? `, ${fmt(s.resyncs)} resynced` : ''}${s.refused ? `, ${fmt(s.refused)} refused (${Object.entries(s.why).map(([k, n]) => `${k}: ${fmt(n)}`).join('; ')})` : ''}${s.retries ? `; ${fmt(s.retries)} connections tried again` : ''}`],
    ['replayed per subscription', (s) => `${s.replayed.min} / ${s.replayed.mean.toFixed(1)} / ${s.replayed.max} (min / mean / max)`],
    ['replay pages ring / Redis / Postgres', (s) => `${fmt(s.sources.ring)} / ${fmt(s.sources.redis)} / ${fmt(s.sources.postgres)} (${pct(s.withoutPostgres)} without Postgres)`],
    ['Postgres rows read', (s) => fmt(s.rowsRead)],
    ['CPU s: gateway B / storm clients', (s) => `${s.cpu.gateway === null ? 'n/a' : s.cpu.gateway.toFixed(1)} / ${s.cpu.clients === null ? 'n/a' : s.cpu.clients.toFixed(1)}${s.cpu.gateway !== null && s.cpu.clients !== null ? ` (${((s.cpu.gateway + s.cpu.clients) / os.cpus().length).toFixed(1)} s over ${os.cpus().length} cores)` : ''}`],
    ['unaffected p99 before / during', (s) => `${ms(s.before.p99)} / ${ms(s.during.p99)} (${times(s.unaffectedP99Ratio)}; ${fmt(s.during.count)} deliveries during)`],
    ['  gateway C, commit to socket', (s) => `${ms(s.gatewayP99.before)} / ${ms(s.gatewayP99.during)} (${times(s.gatewayP99Ratio)}, from its histogram)`],
  ];
  out(`  ${''.padEnd(38)}${MODES.map((m) => MODE_NAME[m].padEnd(52)).join('')}`);
  for (const [label, cell] of rows) out(`  ${label.padEnd(38)}${MODES.map((m) => {
    const s = f.storm.find((x) => x.mode === m);
    return `${(s ? cell(s) : 'n/a').padEnd(51)} `;
  }).join('')}`);
  out(`  Postgres rows read during the storm, Redis on over off: ${f.ratios.stormRowsRedisOverOff === null ? 'n/a' : pct(f.ratios.stormRowsRedisOverOff)}`);
  out('goals:');
  for (const g of scaleGoals(f)) out(`  ${g.met === null ? 'not measured' : g.met ? 'met        ' : 'missed     '}  ${g.goal}: ${g.value === null ? 'n/a' : Number.isInteger(g.value) ? g.value : g.value.toFixed(4)}`);
}
