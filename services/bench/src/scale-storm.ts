// The reconnect storm of `npm run bench -- scale`: storm clients on gateway A (in one or
// two processes of their own, storm-client.ts), each subscription holding a position; A
// killed (SIGKILL), the missed changes written, then every client resuming on gateway B at
// once. Meanwhile unaffected clients on gateway C take a steady stream, timed before the
// kill and during the storm.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningMain } from '@realtime/testkit';
import { startClients, steadyWriter } from './measure';
import type { ClientsSummary } from './clients';
import { PGSTAT_SETTLE_MS, type ScaleCluster } from './scale-cluster';
import type { LogMode, ScaleOptions, StormRun, Window } from './scale-figures';
import type { StormCommand, StormResult } from './storm-client';
import { bucketsBetween, histogramQuantile } from './stats';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Changes per second to the unaffected clients' project, before and during the storm
 * (200 clients: 4,000 deliveries a second to time). Every one of them is also in the range
 * each resuming subscription replays.
 */
export const UNAFFECTED_RATE = 20;
/** Storm sockets one client process holds at most: past it, a second process shares them. */
const SOCKETS_PER_PROCESS = 2500;
/** How long the storm clients wait for every subscription (the goal is 10 s); then they report how many are live. */
const STORM_LIMIT_MS = 300_000;

interface StormProcess {
  child: ChildProcess;
  send(command: StormCommand): void;
  /** Resolves with the first line that `match` takes; rejects on `error`, exit or `ms`. */
  line(match: (line: string) => boolean, what: string, ms: number): Promise<string>;
}

/**
 * The storm clients' young generation, in MB. They stand for 5,000 browsers elsewhere, and
 * parse about 1 GB of pages between them: with V8's default (16 MB) their scavenges alone
 * took about 2.5 of the machine's CPU seconds during the storm, time the gateways under
 * measurement then waited for.
 */
const STORM_CLIENT_SEMI_SPACE_MB = 64;

function stormProcess(): StormProcess {
  const child = spawn(process.execPath, [`--max-semi-space-size=${STORM_CLIENT_SEMI_SPACE_MB}`, '--import', 'tsx', path.join(here, 'storm-client.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  return {
    child,
    send: (command) => child.stdin!.write(`${JSON.stringify(command)}\n`),
    async line(match, what, ms) {
      const until = Date.now() + ms;
      for (;;) {
        const lines = text.split('\n');
        const error = lines.find((l) => l.startsWith('error '));
        if (error) throw new Error(`storm clients: ${error.slice(6)}`);
        const found = lines.find(match);
        if (found) return found;
        if (child.exitCode !== null) throw new Error(`the storm clients exited (${child.exitCode}) before ${what}`);
        if (Date.now() > until) throw new Error(`the storm clients did not report ${what} within ${ms / 1000} s`);
        await sleep(20);
      }
    },
  };
}

/** CPU seconds (user + system) a process has used so far: Linux /proc, null elsewhere or once it is gone. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // After the command, which is in parentheses and may hold spaces: fields 14 and 15 (utime, stime).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** sysconf(_SC_CLK_TCK): 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

const sumOrNull = (xs: (number | null)[]): number | null => (xs.some((x) => x === null) ? null : xs.reduce<number>((a, b) => a + b!, 0));

async function newProjects(c: ScaleCluster, count: number, name: string): Promise<string[]> {
  const { rows } = await c.pool.query<{ id: string }>(`INSERT INTO projects (name) SELECT $1 || g FROM generate_series(1, $2::int) g RETURNING id`, [name, count]);
  return rows.map((r) => r.id);
}

/** Gateway C's commit-to-socket histogram: the unaffected deliveries as the server sees them, without the clients' own time. */
const DELIVERY_LATENCY = 'realtime_delivery_latency_seconds';

const windowOf = (s: ClientsSummary): Window => ({ count: s.count, p50: s.p50, p99: s.p99 });

async function replaySources(g: RunningMain, c: ScaleCluster): Promise<StormRun['sources']> {
  const of = (source: string) => c.metric(g, 'realtime_replay_source_total', { source });
  return { ring: await of('ring'), redis: await of('redis'), postgres: await of('postgres') };
}

/** One storm on gateways [A, B, C]; A is killed. */
export async function stormRun(c: ScaleCluster, mode: LogMode, [a, b, gc]: [RunningMain, RunningMain, RunningMain], o: ScaleOptions, progress: (line: string) => void): Promise<StormRun> {
  const storm = await newProjects(c, o.subs, 'storm ');
  const [unaffectedProject] = await newProjects(c, 1, 'unaffected ');
  const unaffected = await startClients({ port: gc.port, token: c.token, channel: 'extraction_jobs', sockets: Array.from({ length: o.unaffected }, () => [{ filter: { projectId: unaffectedProject! }, measured: true }]) });
  const procs: StormProcess[] = [];
  let writer: Awaited<ReturnType<typeof steadyWriter>> | null = null;
  try {
    const count = Math.ceil(o.sockets / SOCKETS_PER_PROCESS);
    for (let i = 0; i < count; i++) {
      const p = stormProcess();
      procs.push(p);
      const sockets = Math.floor(o.sockets / count) + (i < o.sockets % count ? 1 : 0);
      p.send({ start: { port: a.port, token: c.token, channel: 'extraction_jobs', projects: storm, sockets } });
    }
    await Promise.all(procs.map((p) => p.line((l) => l === 'ready', 'every subscription acknowledged', 300_000)));

    // The unaffected clients' steady state, before the storm clients hold positions: what
    // is written now is not in the ranges they replay.
    writer = await steadyWriter(c.url, unaffectedProject!, UNAFFECTED_RATE);
    await sleep(1000);
    await unaffected.window();
    const atStart = await c.buckets(gc, DELIVERY_LATENCY);
    await sleep(o.seconds * 1000);
    const before = windowOf(await unaffected.window());
    // Also the end of C's "during" reading: nothing of the unaffected project is written
    // until the storm's writer starts.
    const atBefore = await c.buckets(gc, DELIVERY_LATENCY);
    await writer.stop();
    writer = null;
    const sourcesBefore = await replaySources(b, c);
    await sleep(PGSTAT_SETTLE_MS);
    const rowsBefore = await c.rowsRead();

    // One change per project gives every subscription a position to resume from.
    await c.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT p, 'prime.pdf' FROM unnest($1::uuid[]) p`, [storm]);
    await Promise.all(procs.map((p) => p.line((l) => l === 'primed', 'a position for every subscription', 120_000)));
    progress(`${o.sockets.toLocaleString('en-US')} sockets × ${o.subs} subscriptions on gateway A, each at a position; ${o.unaffected} unaffected clients on gateway C`);

    a.proc.kill('SIGKILL');
    await a.exited;
    for (const p of storm) await c.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'missed.pdf' FROM generate_series(1, $2::int)`, [p, o.missed]);
    await c.fedUpTo([b], await c.head());
    progress(`gateway A killed; ${o.missed} changes written to each of the ${o.subs} projects; gateway B has them`);
    writer = await steadyWriter(c.url, unaffectedProject!, UNAFFECTED_RATE);
    await unaffected.window();
    const cpuOf = () => ({ gateway: cpuSeconds(b.pid), clients: sumOrNull(procs.map((p) => cpuSeconds(p.child.pid))) });
    const cpuBefore = cpuOf();
    const started = Date.now();
    for (const p of procs) p.send({ resume: { port: b.port, limitMs: STORM_LIMIT_MS } });
    const results = await Promise.all(procs.map(async (p) => JSON.parse(await p.line((l) => l.startsWith('{'), 'its result', STORM_LIMIT_MS + 30_000)) as StormResult));
    const ms = Date.now() - started;
    const cpuAfter = cpuOf();
    const spent = (a: number | null, z: number | null) => (a === null || z === null ? null : Math.max(0, z - a));
    const during = windowOf(await unaffected.window());
    await writer.stop();
    writer = null;
    await sleep(PGSTAT_SETTLE_MS);
    // Before the scrape of B's counters: a scrape of /metrics reads the database (its gauges).
    const rowsRead = (await c.rowsRead()) - rowsBefore;
    const sourcesAfter = await replaySources(b, c);
    const atDuring = await c.buckets(gc, DELIVERY_LATENCY);
    const p99Ms = (x: number | null) => (x === null ? null : x * 1000);
    const sum = (f: (r: StormResult) => number) => results.reduce((n, r) => n + f(r), 0);
    const live = sum((r) => r.live);
    return {
      mode,
      subscriptions: sum((r) => r.subscriptions),
      live,
      resyncs: sum((r) => r.resyncs),
      refused: sum((r) => r.refused),
      retries: sum((r) => r.retries),
      why: results.reduce<Record<string, number>>((all, r) => {
        for (const [k, n] of Object.entries(r.why)) all[k] = (all[k] ?? 0) + n;
        return all;
      }, {}),
      ms,
      replayed: {
        min: Math.min(...results.map((r) => r.replayed.min)),
        mean: live ? sum((r) => r.replayed.mean * r.live) / live : 0,
        max: Math.max(...results.map((r) => r.replayed.max)),
      },
      sources: { ring: sourcesAfter.ring - sourcesBefore.ring, redis: sourcesAfter.redis - sourcesBefore.redis, postgres: sourcesAfter.postgres - sourcesBefore.postgres },
      rowsRead,
      before,
      during,
      gatewayP99: { before: p99Ms(histogramQuantile(0.99, bucketsBetween(atStart, atBefore))), during: p99Ms(histogramQuantile(0.99, bucketsBetween(atBefore, atDuring))) },
      cpu: { gateway: spent(cpuBefore.gateway, cpuAfter.gateway), clients: spent(cpuBefore.clients, cpuAfter.clients) },
    };
  } finally {
    await writer?.stop().catch(() => undefined);
    // Their sockets go with them: nothing of theirs is measured any more.
    for (const p of procs) p.child.kill('SIGTERM');
    await unaffected.stop().catch(() => undefined);
  }
}
