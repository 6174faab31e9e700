// What docs/benchmarks.md says, as pure functions of the measured results: the figures
// with their goals and verdicts, the markdown table, and the page around it. The run in
// main.ts measures and writes; nothing here times or touches a file.
import type { WritesResult } from './writes';
import type { ReplicatorResult } from './replicator';
import type { ServerResult } from './gateway';
import { ratio, type Latency, type LiveResult, type ScenarioName } from './scenarios';

export interface Results {
  writes: WritesResult;
  replicator: ReplicatorResult;
  gateway: ServerResult;
  baseline: ServerResult;
  live: LiveResult;
}

const UNMEASURED: Latency = { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, delivered: Number.NaN, stray: Number.NaN };

/** One scenario's medians for both designs; NaN (printed as not measured) for a scenario the run skipped. */
export function scenarioOf(r: Results, name: ScenarioName): { ours: Latency; naive: Latency } {
  const s = r.live.scenarios[name];
  return s ? { ours: s.ours, naive: s.naive } : { ours: UNMEASURED, naive: UNMEASURED };
}

const orNaN = (x: number | null) => x ?? Number.NaN;

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  postgres: string;
  date: string;
  minutes: number;
  /** The 1-minute load average when the run began: other work on the machine skews every figure. */
  loadAtStart: number;
}

export type Unit = 'per-s' | 'tps' | 'ratio' | 'ms' | 'count' | 'share';
/** A goal is a bound on our figure: at least or at most this value. */
export type Goal = { atLeast: number } | { atMost: number };
export type Verdict = 'met' | 'missed';

export interface Figure {
  label: string;
  unit: Unit;
  ours: number | null;
  /** A number, or a sentence where the baseline has no such figure. */
  baseline: number | string | null;
  goal: Goal | null;
  /** False where the baseline's figure measures something else than the goal's. */
  judgeBaseline?: boolean;
  oursNote?: string;
  baselineNote?: string;
}

export function verdict(value: number | string | null, goal: Goal | null): Verdict | null {
  if (goal === null || value === null || typeof value === 'string' || Number.isNaN(value)) return null;
  return ('atLeast' in goal ? value >= goal.atLeast : value <= goal.atMost) ? 'met' : 'missed';
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatValue(value: number | string | null, unit: Unit): string {
  if (value === null) return 'n/a';
  if (typeof value === 'string') return value;
  if (Number.isNaN(value)) return 'not measured';
  switch (unit) {
    case 'per-s':
      return `${grouped(value)}/s`;
    case 'tps':
      return `${grouped(value)} tps`;
    case 'ratio':
      // Truncated, not rounded: 0.2497 must not print as a 0.25 that meets a 0.25 goal.
      return (Math.floor(value * 100 + 1e-9) / 100).toFixed(2);
    case 'ms':
      return `${grouped(value)} ms`;
    case 'count':
      return grouped(value);
    case 'share':
      return `${(value * 100).toFixed(1)}%`;
  }
}

export function formatGoal(goal: Goal | null, unit: Unit): string {
  if (goal === null) return '';
  return 'atLeast' in goal ? `≥ ${formatValue(goal.atLeast, unit)}` : `≤ ${formatValue(goal.atMost, unit)}`;
}

const NO_REPLAY = 'none (a reconnecting client misses what was written while it was away)';

/** Every figure of the run, in the order of the table. */
export function figures(r: Results): Figure[] {
  const w = r.writes;
  const g = r.gateway;
  const b = r.baseline;
  const c100 = scenarioOf(r, 'clients-100');
  const c1000 = scenarioOf(r, 'clients-1000');
  const f100 = scenarioOf(r, 'fanout-100');
  const f10k = scenarioOf(r, 'fanout-10000');
  const live = (label: string, ours: number, base: number | null, goal: Goal | null): Figure => ({ label, unit: 'ms', ours, baseline: base, goal });
  // Ours over the baseline: below 1, ours is faster.
  const versus = (label: string, ours: number, base: number): Figure => ({ label, unit: 'ratio', ours: orNaN(ratio(ours, base)), baseline: null, goal: { atMost: 1 } });
  const delivered = (label: string, s: { ours: Latency; naive: Latency }): Figure => ({ label, unit: 'share', ours: s.ours.delivered, baseline: s.naive.delivered, goal: { atLeast: 1 } });
  const rows: Figure[] = [
    { label: 'Writes, no trigger (reference for both)', unit: 'tps', ours: w.plain, baseline: w.plain, goal: null },
    { label: 'Writes with change capture', unit: 'tps', ours: w.outbox, baseline: w.naive, goal: null },
    { label: 'Writes with change capture, ratio to no trigger', unit: 'ratio', ours: w.outbox / w.plain, baseline: w.naive / w.plain, goal: { atLeast: 0.75 } },
    { label: 'Writes in NOTIFY fallback mode, ratio to no trigger', unit: 'ratio', ours: w.outboxNotify / w.plain, baseline: null, goal: null, oursNote: 'only while the replicator has no WAL' },
    {
      label: 'Change stream throughput',
      unit: 'per-s',
      ours: r.replicator.ours,
      baseline: w.naiveListener,
      goal: { atLeast: 25_000 },
      judgeBaseline: false,
      oursNote: 'backlog drained, stamped and delivered',
      baselineNote: 'notifications its listener heard under the write load; bounded by its writes',
    },
    { label: 'Replicator, share of the bare consumer ceiling', unit: 'ratio', ours: r.replicator.ours / r.replicator.ceiling, baseline: null, goal: { atLeast: 0.25 } },
    { label: 'Bare pg-logical-replication consumer (ceiling)', unit: 'per-s', ours: r.replicator.ceiling, baseline: null, goal: null },
    live('Replicator commit to delivery at 2,000 changes/s, p50', r.replicator.latency.p50, null, null),
    live('Replicator commit to delivery at 2,000 changes/s, p95', r.replicator.latency.p95, null, null),
    live('Replicator commit to delivery at 2,000 changes/s, p99', r.replicator.latency.p99, null, null),
    { label: 'Replay to one client', unit: 'per-s', ours: r.live.replay.ours, baseline: NO_REPLAY, goal: { atLeast: 100_000 }, oursNote: `${grouped(r.live.replay.rows)} changes from since = 0` },
    {
      label: 'Changes a client away ~1 s never receives',
      unit: 'count',
      ours: g.loss.missed,
      baseline: b.loss.missed,
      goal: { atMost: 0 },
      oursNote: `of ${grouped(g.loss.written)}`,
      baselineNote: `of ${grouped(b.loss.written)}`,
    },
    { label: 'Changes that client receives twice', unit: 'count', ours: g.loss.duplicated, baseline: b.loss.duplicated, goal: { atMost: 0 } },
    live('Live p50, 100 clients at 1,000 changes/s', c100.ours.p50, c100.naive.p50, { atMost: 5 }),
    live('Live p95, 100 clients at 1,000 changes/s', c100.ours.p95, c100.naive.p95, null),
    live('Live p99, 100 clients at 1,000 changes/s', c100.ours.p99, c100.naive.p99, { atMost: 25 }),
    versus('Live p50, 100 clients at 1,000 changes/s, ours over baseline', c100.ours.p50, c100.naive.p50),
    versus('Live p99, 100 clients at 1,000 changes/s, ours over baseline', c100.ours.p99, c100.naive.p99),
    delivered('Deliveries received, 100 clients at 1,000 changes/s', c100),
    live('Live p50, 1,000 clients at 100 changes/s', c1000.ours.p50, c1000.naive.p50, null),
    live('Live p95, 1,000 clients at 100 changes/s', c1000.ours.p95, c1000.naive.p95, null),
    live('Live p99, 1,000 clients at 100 changes/s', c1000.ours.p99, c1000.naive.p99, { atMost: 150 }),
    versus('Live p50, 1,000 clients at 100 changes/s, ours over baseline', c1000.ours.p50, c1000.naive.p50),
    versus('Live p99, 1,000 clients at 100 changes/s, ours over baseline', c1000.ours.p99, c1000.naive.p99),
    delivered('Deliveries received, 1,000 clients at 100 changes/s', c1000),
    live('Fan-out p50, 100 filtered subscriptions', f100.ours.p50, f100.naive.p50, null),
    live('Fan-out p99, 100 filtered subscriptions', f100.ours.p99, f100.naive.p99, null),
    live('Fan-out p50, 10,000 filtered subscriptions', f10k.ours.p50, f10k.naive.p50, null),
    live('Fan-out p95, 10,000 filtered subscriptions', f10k.ours.p95, f10k.naive.p95, null),
    live('Fan-out p99, 10,000 filtered subscriptions', f10k.ours.p99, f10k.naive.p99, null),
    { label: 'Fan-out p99, 10,000 over 100 filtered subscriptions', unit: 'ratio', ours: orNaN(ratio(f10k.ours.p99, f100.ours.p99)), baseline: orNaN(ratio(f10k.naive.p99, f100.naive.p99)), goal: { atMost: 1.5 } },
    delivered('Deliveries received, 10,000 filtered subscriptions', f10k),
    { label: 'Changes sent to a subscription its filter excludes', unit: 'count', ours: f100.ours.stray + f10k.ours.stray, baseline: f100.naive.stray + f10k.naive.stray, goal: { atMost: 0 } },
    {
      label: 'A 9,000-byte row: clients that receive it',
      unit: 'count',
      ours: g.oversize.delivered ? 1 : 0,
      baseline: b.oversize.delivered ? 1 : 0,
      goal: { atLeast: 1 },
      oursNote: oversizeNote(g.oversize),
      baselineNote: oversizeNote(b.oversize),
    },
  ];
  return rows;
}

function oversizeNote(o: ServerResult['oversize']): string {
  if (!o.committed) return `the write failed: ${o.error ?? 'unknown error'}`;
  return o.delivered ? `committed, streamed in ${Math.round(o.ms ?? 0)} ms` : 'committed, never streamed';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const withNote = (value: string, note: string | undefined) => (note ? `${value} (${note})` : value);
const shout = (v: Verdict | null) => (v === null ? '' : v === 'met' ? 'met' : '**missed**');

export function renderTable(rows: Figure[]): string {
  const lines = ['| Figure | Ours | Baseline | Goal | Ours vs goal | Baseline vs goal |', '|---|---:|---:|---:|:---:|:---:|'];
  for (const f of rows) {
    const base = f.judgeBaseline === false ? null : verdict(f.baseline, f.goal);
    lines.push(
      `| ${cell(f.label)} | ${cell(withNote(formatValue(f.ours, f.unit), f.oursNote))} | ${cell(withNote(formatValue(f.baseline, f.unit), f.baselineNote))} | ${formatGoal(f.goal, f.unit)} | ${shout(verdict(f.ours, f.goal))} | ${shout(base)} |`,
    );
  }
  return lines.join('\n');
}

/** One plain sentence per goal of ours that the run missed. */
export function missedGoals(rows: Figure[]): string[] {
  return rows
    .filter((f) => verdict(f.ours, f.goal) === 'missed')
    .map((f) => `${f.label}: ${formatValue(f.ours, f.unit)} against a goal of ${formatGoal(f.goal, f.unit)}: missed.`);
}

export interface PageOptions {
  rounds: number;
  liveSeconds: number;
  svgFile: string;
}

export function renderPage(r: Results, m: Machine, o: PageOptions): string {
  const rows = figures(r);
  const missed = missedGoals(rows);
  return `# Benchmarks: the outbox against the naive design

Written by \`npm run bench\` (the full run, ${m.minutes.toFixed(1)} minutes); run it again to
replace this page. Every figure below was measured in that run; none is copied from an
earlier one. Each is the median of ${o.rounds === 1 ? '1 round' : `${o.rounds} rounds`}.

![Latency percentiles and throughput, ours against the baseline](${o.svgFile})

The plot: [${o.svgFile}](${o.svgFile}).

## Machine

- CPU: ${m.cpu}, ${m.cores} cores (shared by Postgres, the servers and the benchmark clients)
- Memory: ${m.memoryGiB.toFixed(1)} GiB
- Node ${m.node}, Postgres ${m.postgres} (embedded, one throwaway cluster per benchmark)
- Date: ${m.date}
- Load average when the run began: ${m.loadAtStart.toFixed(2)} (anything near or above the core count means other work shared the CPU)

## Figures

${renderTable(rows)}

${missed.length === 0 ? 'Every goal of ours was met in this run.' : `Goals of ours missed in this run:\n\n${missed.map((s) => `- ${s}`).join('\n')}`}

## The baseline

The naive design the outbox replaces: on the same five tables, a trigger that sends the
whole row as JSON through \`pg_notify\` on every INSERT, UPDATE and DELETE (the outbox
triggers dropped with \`realtime_disable\` in the baseline's database), and a server
whose one \`pg.Client\` LISTENs and broadcasts every notification to the Socket.IO clients
of that table (a filtered subscription is checked against every change), with the same
\`changes\` event shape (one change per message). No outbox, no seq, no replay, no
token check and no row reshaping (which makes its server's work lighter than ours). Its
\`committedAt\` is \`clock_timestamp()\` when the trigger ran, a little before the
commit; ours is the commit time from the WAL. Both are read against the client's clock
on the same machine.

## How each figure is measured

**Writes.** 8 writers each run single-row \`UPDATE ... WHERE id = $1\` on a table of
1,000 rows for 5 s per round (pgbench's simple-update shape), with
\`synchronous_commit=on\`. Four variants on one cluster alternate in every round, so
they share the machine's noise: a copy of \`projects\` without triggers, \`projects\`
itself (ours: the outbox trigger, WAL mode), \`projects\` in NOTIFY fallback mode (outbox
plus a reference NOTIFY), and a copy carrying only the baseline's trigger (whole-row
\`pg_notify\`, with its listener connected and parsing every notification; NOTIFY's queue
is shared by the cluster, so that listener is present in every variant). The ratio is to
the no-trigger figure of the same run.

**Change stream throughput.** Ours: 100,000 outbox rows are committed (100 per
transaction) while nobody reads; then our replicator drains its slot: decodes, stamps
seqs, persists them and delivers the changes in-process. The ceiling is a bare
pg-logical-replication consumer draining its own slot of the same rows, in the same
round. The baseline cannot drain a backlog (a notification goes to whoever listens at
commit time), so its figure is the rate at which its listener heard notifications
during the write benchmark, which its write rate bounds.

**Replicator latency.** Ours only: inserts at about 2,000 changes/s (a transaction
every 10 ms) for ${o.liveSeconds} s with the replicator live, commit time to in-process
delivery. The baseline has no such stage.

**Replay.** ${grouped(r.live.replay.rows)} changes to \`projects\` (inserted for it, and the projects the
fan-out and live rounds created) stamped before one client, in a process of its own as
a browser would be, subscribes with \`since = 0\`; changes per second until its \`live\`
event, once per round of the live benchmark. The baseline keeps nothing to replay.

**A client away for a second.** One client subscribes to \`extraction_jobs\`; a writer
inserts about 200 rows/s for 3 s; after 1 s the client disconnects, after 2 s it
reconnects and subscribes again with \`since\` = the last seq it saw, as the web hook
does (the baseline ignores \`since\`). Counted: inserted rows it never receives within
3 s after the writes stop, and rows it receives twice.

**Live latency.** Both designs run side by side, each on a cluster of its own, and take
turns in every round (ours first in odd rounds, the baseline first in even ones), so
that they share the machine's noise. Socket.IO clients speaking protocol v2 run in a
child process, each subscribed to \`extraction_jobs\`; one writer inserts in
transactions every 10 ms for ${o.liveSeconds} s (10 rows each for 1,000 changes/s, 1 row for
100 changes/s). Latency is the client's arrival time (to a fraction of a millisecond)
minus each change's \`committedAt\` (ours sends it to the millisecond, taken at the middle
of its millisecond; the baseline's microseconds are read as they are; ours sends a batch
per subscription per feed batch, and each change in it counts); p50/p95/p99 over every delivery of the round, then the median over rounds. The
clients share the 2 cores with Postgres and the servers, so the 1,000-client figures
include the clients' own decoding time. Deliveries received count what arrived within
1.5 s after the last write.

**Fan-out.** 100 sockets, with 1 or 100 subscriptions each (100 or 10,000 in all), every
subscription filtered on a project of its own (\`project_id\`); the writer inserts
1,000 changes/s into one of those projects, and latency is taken at its one subscriber.
Ours files subscriptions by the value they filter on, so a change visits only the
subscriptions that can match; the baseline checks every filtered subscription against
every change. The ratio of the two p99s says how much the idle subscriptions cost. The
others must receive nothing: any change they get is counted as sent to a subscription
its filter excludes.

**A 9,000-byte row.** One INSERT into \`projects\` whose description is 9,000 bytes,
with one client subscribed: ours commits it and streams it (the contract allows rows
of any size); the baseline's \`pg_notify\` refuses a payload over 8,000 bytes, so the
trigger fails and the write itself is lost.
`;
}
