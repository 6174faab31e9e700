// The faults of a run, in two lanes: the server lane (replicator kills and takeovers,
// gateway restarts, a switch to NOTIFY mode, Postgres restarts and crashes, a restore from
// backup, and with the shared change log Redis killed, restarted empty, flushed and
// frozen), one at a time with full strength restored between them, and the client lane
// (disconnects and stalled readers under a burst of large rows).
import type { StreamedTable } from '@realtime/db';
import { positionOf, type AtRestore, type EpochFrom } from './checker';
import type { FaultKind, PlannedFault, ServerFault } from './plan';
import type { QueueWriters } from './queue-writers';
import { fmt } from './report';
import { backedUp, restoreBackup, takeBackup } from './restore';
import type { Rng } from './rng';
import { REPLICATOR_ROLE, sleep, waitFor, type Proc, type Stack } from './stack';
import type { Subscriber } from './subscriber';
import { epochFrom, fromKey, readTruth, type Truth } from './truth';
import { createClient } from 'redis';
import type { RunningRedis } from '@realtime/testkit';
import { burst, type MembershipWriter, type Writers } from './workload';

export interface FaultRecord {
  kind: FaultKind;
  at: number;
  detail: string;
}

/** What the restore fault found and left: the checker's truth for the history it ended. */
/** What tells one change from another across a restore: its outbox row's id and its transaction. */
export const CHANGE_IDENTITY = `id::text || '/' || txid::text`;

export interface Restored {
  /** The head seq of the backup: the histories agree up to it. */
  backup: number;
  /** The head when the restore began: seqs above the backup up to it were lost. */
  lostHead: number;
  /** The outbox as it was then (every stamped row), for the epochs of the lost history. */
  truth: Truth;
  /** Each list cursor's debt as that outbox said. */
  froms: Map<string, Promise<EpochFrom>>;
  /** Every subscriber's subscription as the restore found it. */
  at: Map<Subscriber, AtRestore>;
  /** The stamped changes past the backup (CHANGE_IDENTITY), by seq, as the restore found them. */
  oldIds: Map<number, string>;
  /** Subscribers held offline from just before the backup until the gateways were down. */
  held: number;
}

/** What the faults act on, and where the restore fault leaves what it found. */
export interface FaultContext {
  stack: Stack;
  catalog: ReadonlyMap<string, StreamedTable>;
  subscribers: readonly Subscriber[];
  lane: Lane;
  restored: (r: Restored) => void;
}

/** What the restore fault pauses while it puts the backup back. */
export interface Lane {
  writers: Writers;
  members: MembershipWriter;
  queue: QueueWriters;
}

export async function runServerLane(ctx: FaultContext, faults: PlannedFault<ServerFault>[], r: Rng, elapsed: () => number, record: (k: FaultKind, d: string) => void): Promise<void> {
  const s = ctx.stack;
  for (const f of faults) {
    await sleep(Math.max(0, f.at - elapsed()));
    try {
      const detail = await inject(ctx, f.kind, r);
      await restoreAll(s);
      record(f.kind, `${detail}${s.redis ? `; ${await backOnLog(s)}` : ''}`);
    } catch (err) {
      throw new Error(`${f.kind} at t=${(elapsed() / 1000).toFixed(1)}s: ${(err as Error).message}`);
    }
  }
}

/**
 * With the shared log, after every fault: each gateway takes its live feed from the log
 * again, a batch of it at least since the fault was survived.
 * A gateway left on the outbox loses nothing, but costs Postgres what the log is for.
 */
export async function backOnLog(s: Stack, timeoutMs = 60_000): Promise<string> {
  const t0 = Date.now();
  const logChanges = async (g: Proc) => (await s.feed(g))?.changes.log ?? 0;
  const before = new Map(await Promise.all(s.gateways.map(async (g) => [g, await logChanges(g)] as const)));
  let nudged = Date.now();
  await waitFor(
    `every gateway to take its live feed from the change log again (${s.gateways.map((g) => g.name).join(', ')})`,
    async () => {
      // The writers may be done (a fault late in the run): a change of the run's own, now
      // and then, gives the log something to carry. Subscribers see it like any other.
      if (Date.now() - nudged > 2000) {
        nudged = Date.now();
        await s.query(`UPDATE projects SET updated_at = now() WHERE id = (SELECT id FROM projects ORDER BY created_at, id LIMIT 1)`).catch(() => undefined);
      }
      for (const g of s.gateways) {
        const f = await s.feed(g);
        if (!f || !f.fromLog || (f.changes.log ?? 0) <= before.get(g)!) return false;
      }
      return true;
    },
    timeoutMs,
    200,
  );
  return `every gateway fed by the change log again within ${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

function redisOf(s: Stack): RunningRedis {
  if (!s.redis) throw new Error('a Redis fault was planned for a run without Redis');
  return s.redis;
}

/** FLUSHALL on the run's own redis-server (never anyone else's: its URL is the run's). */
async function flushAll(url: string): Promise<void> {
  const c = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 5000 } });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.flushAll();
  } finally {
    c.destroy();
  }
}

export async function runClientLane(s: Stack, faults: PlannedFault[], subs: Subscriber[], pinned: string[], r: Rng, elapsed: () => number, record: (k: FaultKind, d: string) => void): Promise<void> {
  for (const f of faults) {
    await sleep(Math.max(0, f.at - elapsed()));
    const joined = subs.filter((x) => x.joined);
    if (!joined.length) continue;
    if (f.kind === 'client-disconnect') {
      const sub = r.pick(joined);
      const ms = r.int(100, 4000);
      if (sub.dropFor(ms)) record(f.kind, `${sub.label} for ${ms} ms`);
      continue;
    }
    // A stalled reader of every project, while megabytes of project rows go by: once the
    // kernel's buffers are full, the gateway's queue for it passes its bound.
    const readers = joined.filter((x) => x.spec.channel === 'projects' && Object.keys(x.spec.filter).length === 0);
    const sub = r.pick(readers.length ? readers : joined);
    const ms = r.int(3000, 8000);
    if (!sub.reconnectStalled(ms)) continue;
    // A project the stalled reader sees: one of the user's, when they hold any.
    const uid = sub.userId;
    const held = uid === null ? [] : await s.query<{ id: string }>(`SELECT project_id AS id FROM project_members WHERE user_id = $1 AND project_id = ANY($2::uuid[]) ORDER BY random() LIMIT 1`, [uid, pinned]).catch(() => []);
    const bytes = await burst(s.url, held[0]?.id ?? pinned[0]!, 200, 50_000).catch(() => 0);
    record(f.kind, `${sub.label} stalled for ${ms} ms under ${fmt(Math.round(bytes / 1e6))} MB of updates`);
  }
}

async function inject(ctx: FaultContext, kind: ServerFault, r: Rng): Promise<string> {
  const s = ctx.stack;
  const t0 = Date.now();
  const took = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  switch (kind) {
    case 'replicator-kill': {
      const leader = await s.waitForLeader();
      const pid = leader.pid;
      await leader.stop('SIGKILL');
      const next = await s.waitForLeader();
      const detail = `SIGKILL to the leader ${leader.name} (pid ${pid}); ${next.name} leads after ${took()}`;
      await sleep(r.int(200, 2000));
      leader.start();
      return detail;
    }
    case 'standby-takeover': {
      const leader = await s.waitForLeader();
      await leader.stop('SIGTERM');
      const next = await s.waitForLeader();
      leader.start();
      return `SIGTERM to the leader ${leader.name}; the standby ${next.name} took over after ${took()}`;
    }
    case 'gateway-restart': {
      const g: Proc = r.pick(s.gateways);
      const signal = r.chance(0.5) ? 'SIGKILL' : 'SIGTERM';
      await g.stop(signal);
      await sleep(r.int(200, 2000));
      g.start();
      await s.waitForGateway(g);
      return `${signal} to ${g.name}, back after ${took()}`;
    }
    case 'mode-switch': {
      await s.query(`ALTER ROLE ${REPLICATOR_ROLE} NOREPLICATION`);
      await s.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL`);
      await waitFor('NOTIFY mode', async () => (await s.mode()) === 'notify', 30_000, 100);
      const inNotify = took();
      await sleep(r.int(2000, 6000));
      await s.query(`ALTER ROLE ${REPLICATOR_ROLE} REPLICATION`);
      await waitFor('WAL mode again', async () => (await s.mode()) === 'wal', 60_000, 100);
      return `REPLICATION taken from the replicators' role: NOTIFY mode after ${inNotify}, WAL again (role restored) after ${took()}`;
    }
    case 'postgres-restart': {
      await s.restartPostgres(r.int(500, 2000));
      await s.waitForLeader();
      return `stopped and started again; a replicator leads after ${took()}`;
    }
    case 'postgres-crash': {
      const head = async () => Number((await s.query<{ h: string | null }>(`SELECT max(seq)::text AS h FROM change_outbox`))[0]?.h ?? 0);
      const before = await head();
      await s.crashPostgres(r.int(500, 2000));
      // Stamps that had gone out but not reached the OS are gone; the next leader numbers
      // their changes again, and the checker holds it to the seqs the clients got.
      const after = await head();
      await s.waitForLeader();
      return `SIGKILL to every Postgres process, then crash recovery (head ${fmt(before)} before, ${fmt(after)} after recovery); a replicator leads after ${took()}`;
    }
    case 'redis-kill': {
      const redis = redisOf(s);
      const pid = redis.pid;
      await redis.kill();
      const downMs = r.int(1000, 4000);
      await sleep(downMs);
      await redis.restart();
      return `SIGKILL to redis-server (pid ${pid}), an empty one on its port ${downMs} ms later`;
    }
    case 'redis-restart': {
      const redis = redisOf(s);
      await redis.restart();
      return `redis-server replaced at once by an empty one on its port`;
    }
    case 'redis-flush': {
      await flushAll(redisOf(s).url);
      return 'FLUSHALL: every stream and key of the change log gone, Redis still up';
    }
    case 'redis-pause': {
      const redis = redisOf(s);
      const ms = r.int(2000, 6000);
      await redis.pause();
      await sleep(ms);
      await redis.resume();
      return `SIGSTOP to redis-server for ${ms} ms (connections open, nothing answers), then SIGCONT`;
    }
    case 'restore': {
      // The queue clients' requests wait from before the backup until the gateways are
      // back: a write the backup does not hold the restore takes away, acknowledged or not,
      // and no queue can be held to it. The other writers go on, for the subscribers' sake.
      await ctx.lane.queue.pause();
      try {
        return await restoreFault(ctx, r, took);
      } finally {
        ctx.lane.queue.resume();
      }
    }
  }
}

/**
 * A backup (the streamed tables, the outbox and realtime_state in one snapshot), writes
 * that subscribers see, then the backup put back with the gateways and replicators down,
 * the replicators started again, and the gateways only once the new history's head has
 * passed the lost one: every position of the lost history names a seq the new history
 * has given to another change. What each subscriber held then, and the outbox as it was,
 * are kept for the checker.
 */
async function restoreFault(ctx: FaultContext, r: Rng, took: () => string): Promise<string> {
  const { stack: s, catalog, subscribers, lane } = ctx;
  const head = async () => Number((await s.query<{ h: string | null }>(`SELECT max(seq)::text AS h FROM change_outbox`))[0]?.h ?? 0);
  const tables = backedUp(catalog.keys());
  // Some subscribers offline from before the backup to after the restore: their positions
  // are ones both histories share, and they must resume from them normally.
  const held = subscribers.filter((x) => x.isLive && r.chance(0.3));
  for (const x of held) x.offlineFor(600_000);
  const backup = await takeBackup(s, tables);
  // Writes go on and subscribers get them: the changes the restore will take away.
  await sleep(r.int(1000, 3000));
  // Nothing reaches a subscriber from here until the gateways start again.
  await Promise.all([...s.gateways, ...s.replicators].map((p) => p.stop('SIGTERM')));
  // They try again, and get in once the gateways are back.
  for (const x of held) x.offlineFor(0);
  // A list read that had its answer just before sets its epoch up in a moment.
  await sleep(300);
  const at = new Map<Subscriber, AtRestore>();
  for (const x of subscribers) {
    const e = x.current;
    at.set(x, { epochs: x.epochs.length, ended: !e || e.endedBy !== null, position: e ? positionOf(e.start, e.received) : 0, received: e?.received.length ?? 0 });
  }
  const truth = await readTruth(s, catalog, subscribers);
  const froms = new Map<string, Promise<EpochFrom>>();
  for (const x of subscribers) for (const e of x.epochs) if (!froms.has(fromKey(e))) froms.set(fromKey(e), Promise.resolve(await epochFrom(s, e)));
  const lostHead = truth.head;
  // A change is its row id and its transaction: a restore may set the outbox's id
  // sequence back, so that the new history gives a seq the very id its lost change had,
  // but never a transaction id again.
  const oldIds = new Map((await s.query<{ seq: number; id: string }>(`SELECT seq::int AS seq, ${CHANGE_IDENTITY} AS id FROM change_outbox WHERE seq > $1`, [backup])).map((x) => [x.seq, x.id] as const));
  ctx.restored({ backup, lostHead, truth, froms, at, oldIds, held: held.length });
  await Promise.all([lane.writers.pause(), lane.members.pause()]);
  try {
    await restoreBackup(s, tables);
  } finally {
    lane.writers.resume();
    lane.members.resume();
  }
  const back = await head();
  if (back !== backup) throw new Error(`the restored outbox's head is ${back}, the backup's ${backup}`);
  for (const p of s.replicators) p.start();
  await s.waitForLeader();
  // More changes than were lost, whether the writers are still at it or not: every row
  // of a table touched, one table a transaction, until the outbox (its rows will be seqs
  // 1..N) holds more rows than the lost head.
  let filler = 0;
  const rows = async () => Number((await s.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox`))[0]!.n);
  for (let i = 0; i < 1000 && (await rows()) <= lostHead; i++) {
    const t = tables[1 + (i % (tables.length - 1))]!;
    filler += (await s.query<{ id: string }>(`UPDATE ${t} SET updated_at = now() RETURNING id`).catch(() => [])).length;
  }
  await waitFor('the new history to pass the lost head', async () => (await head()) > lostHead, 120_000, 200);
  for (const g of s.gateways) g.start();
  await Promise.all(s.gateways.map((g) => s.waitForGateway(g)));
  const positions = [...at.values()].filter((a) => a.epochs > 0 && !a.ended);
  const past = positions.filter((a) => a.position > backup).length;
  return `backup at head ${fmt(backup)}, ${fmt(lostHead - backup)} changes lost (head ${fmt(lostHead)}); ${past} subscribers past the backup, ${positions.length - past} at or before it (${held.length} held offline); ${fmt(filler)} changes written besides the writers' to pass the lost head; the gateways are back after ${took()}`;
}

/** Back to full strength between faults: Redis, both replicators and every gateway up, WAL allowed. */
export async function restoreAll(s: Stack): Promise<void> {
  // A Redis fault that failed half way may have left it down.
  if (s.redis && !s.redis.running) await s.redis.restart();
  await s.query(`ALTER ROLE ${REPLICATOR_ROLE} REPLICATION`);
  for (const p of [...s.replicators, ...s.gateways]) if (!p.running) p.start();
  await s.waitForLeader();
  await Promise.all(s.gateways.map((g) => s.waitForGateway(g)));
}
