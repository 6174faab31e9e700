// `npm run bench -- live`: live latency of ours against the naive baseline, in
// alternating rounds of one run, on two clusters running side by side: 100 clients at
// 1,000 changes/s, 1,000 clients at 100 changes/s, and fan-out (10,000 filtered
// subscriptions against 100, the writes all to one project); then replay to one client.
import os from 'node:os';
import { fmt, median, out } from './stats';
import { liveLatency, replayRate } from './measure';
import { DESIGNS, SCENARIOS, goals, ratio, liveJson, parseLiveOptions, roundOrder, scenarioPlan, subscriptionsOf, summarize, type Design, type LiveResult, type Runs } from './scenarios';
import { startNaive, startOurs, type Running } from './servers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : 'n/a');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');
const times = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)}x`);
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/** Inserts `count` projects through one statement per thousand, returning their ids. */
export async function insertProjects(db: Pick<Running, 'pool'>, count: number, name: string): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count; done += 1000) {
    const { rows } = await db.pool.query<{ id: string }>(`INSERT INTO projects (name) SELECT $1 || g FROM generate_series(1, $2::int) g RETURNING id`, [name, Math.min(1000, count - done)]);
    ids.push(...rows.map((r) => r.id));
  }
  return ids;
}

/** Waits until our gateway's feed has every stamped change, then times a replay of all `projects` changes to one client. */
async function replay(ours: Running): Promise<{ rate: number; changes: number }> {
  const { rows } = await ours.pool.query<{ all: string; projects: string }>(`SELECT count(*) AS all, count(*) FILTER (WHERE table_name = 'projects') AS projects FROM change_outbox`);
  const all = Number(rows[0]!.all);
  for (let i = 0; ours.position() < all; i++) {
    if (i > 1200) throw new Error(`the replicator stamped ${ours.position()} of ${all} changes in 120 s`);
    await sleep(100);
  }
  const changes = Number(rows[0]!.projects);
  return { rate: await replayRate(ours.port, ours.token, changes), changes };
}

export async function liveBench(argv: string[]): Promise<LiveResult> {
  const o = parseLiveOptions(argv);
  const started = Date.now();
  const clock = () => {
    const s = Math.floor((Date.now() - started) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const loadAtStart = os.loadavg();
  out(`live: ${o.scenarios.join(', ')}; ${o.rounds} alternating round(s) of ${o.seconds} s writes per scenario and design; replay of ${fmt(o.rows)} changes`);
  out(`      ${os.cpus().length} cores; load average at start ${loadavg()} (1, 5, 15 min; at or above ${os.cpus().length}, other work shares the CPU)`);
  const servers: Partial<Record<Design, Running>> = {};
  try {
    servers.ours = await startOurs();
    servers.naive = await startNaive();
    const fanout = o.scenarios.filter((n) => SCENARIOS[n].filtered).map((n) => subscriptionsOf(SCENARIOS[n]));
    const projects: Record<Design, string[]> = { ours: [], naive: [] };
    if (fanout.length) {
      const count = Math.max(...fanout);
      for (const d of DESIGNS) projects[d] = await insertProjects(servers[d]!, count, 'fan-out ');
    }
    await insertProjects(servers.ours, Math.max(0, o.rows - projects.ours.length), 'replay ');
    out(`  [${clock()}] both servers up; ${fmt(projects.ours.length)} fan-out projects in each; ${fmt(o.rows)} projects stamped in ours for the replay`);

    const runs: Runs = {};
    const replays: number[] = [];
    let replayed = 0;
    for (let r = 1; r <= o.rounds; r++) {
      for (const name of o.scenarios) {
        const s = SCENARIOS[name];
        const byDesign = (runs[name] ??= { ours: [], naive: [] });
        for (const d of roundOrder(r)) {
          const db = servers[d]!;
          const plan = scenarioPlan(s, projects[d]);
          const l = await liveLatency(db.url, db.port, db.token, { plan: { channel: 'extraction_jobs', sockets: plan.sockets }, rate: s.rate, measured: plan.measured, ...(plan.project ? { project: plan.project } : {}) }, o.seconds);
          byDesign[d].push(l);
          out(`  [${clock()}] round ${r}/${o.rounds} ${name.padEnd(12)} ${d.padEnd(5)}: p50 ${ms(l.p50)}, p95 ${ms(l.p95)}, p99 ${ms(l.p99)}, ${pct(l.delivered)} delivered${l.stray ? `, ${fmt(l.stray)} to subscriptions whose filter excludes them` : ''}; load ${loadavg()}`);
        }
      }
      const { rate, changes } = await replay(servers.ours);
      replays.push(rate);
      replayed = changes;
      out(`  [${clock()}] round ${r}/${o.rounds} replay of ${fmt(changes)} changes to one client (ours): ${fmt(rate)} changes/s`);
    }

    const result: LiveResult = {
      rounds: o.rounds,
      seconds: o.seconds,
      loadAtStart,
      cores: os.cpus().length,
      scenarios: summarize(runs),
      replay: { rows: replayed, ours: median(replays), naive: null },
    };
    printSummary(result);
    out(`  load average at the end ${loadavg()}; ${clock()} in all`);
    if (o.json) out(JSON.stringify(liveJson(result)));
    return result;
  } finally {
    for (const d of [...DESIGNS].reverse()) await servers[d]?.stop();
  }
}

function printSummary(r: LiveResult): void {
  out('');
  out(`  ${`medians of ${r.rounds} round(s)`.padEnd(62)} ours p50/p95/p99 (delivered)        naive p50/p95/p99 (delivered)       ours/naive p50, p99`);
  for (const s of Object.values(r.scenarios)) {
    const col = (l: typeof s.ours) => `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)} (${pct(l.delivered)})`.padEnd(36);
    out(`  ${s.label.padEnd(62)} ${col(s.ours)}${col(s.naive)}${times(ratio(s.ours.p50, s.naive.p50))}, ${times(ratio(s.ours.p99, s.naive.p99))}`);
  }
  const few = r.scenarios['fanout-100'];
  const many = r.scenarios['fanout-10000'];
  if (few && many) out(`  fan-out p99, 10,000 over 100 subscriptions: ours ${times(ratio(many.ours.p99, few.ours.p99))}, naive ${times(ratio(many.naive.p99, few.naive.p99))}`);
  out(`  replay to one client: ours ${fmt(r.replay.ours)} changes/s (${fmt(r.replay.rows)} changes from since = 0); naive: none (it keeps nothing to replay)`);
  out('');
  for (const g of goals(r)) out(`  goal ${g.goal}: ${g.value === null ? 'not measured' : g.value >= 1000 ? fmt(g.value) : g.value.toFixed(2)} ${g.met === null ? '' : g.met ? 'met' : 'MISSED'}`);
}
