// A database restored from a dump while the shared change log (a real redis-server) holds
// the history the restore took away: the replicator leader's appender opens a new stream
// and leaves the old one as it was, clients whose position is in the lost part get
// `resync` (`history-changed`) from a gateway whose ring, log or outbox would serve them,
// and a client at a position both histories share resumes with the new history only.
// Also the window before the leader opens the new stream: the lost history's stream is
// still `current`, and neither a replay nor the live feed hands on its lost changes.
// Gateways do not live through a restore: their feed's position and ring belong to the
// lost history (docs/operations.md, "Backups and restores"), so every one here starts
// after it.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ChangeLog, type LogChange } from '@realtime/changelog';
import { fingerprint } from '@realtime/db';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import type { Filter } from '@realtime/protocol';
import { ChangeLogAppender, type Replicator } from '@realtime/replicator';
import { startRedis, waitFor, type RunningRedis } from '@realtime/testkit';
import { FP_INPUT } from '../src/feed';
import { dump, restore } from './history-helpers';
import { Received, connect, fpAt, headSeq, log, positionAt, startGateway, startReplicator, token, type GatewayHandle, type GatewayStartOptions } from './helpers';

type Position = { since: number; fp?: string };
type Seen = { seq: number; fp: string | undefined };

let db: TestDatabase;
let pool: pg.Pool;
let redis: RunningRedis;
let replicator: Replicator;
/** The test's own look at the log: keys, entries. */
let probe: ChangeLog;
const stops: (() => Promise<void>)[] = [];
let P: string, Q: string;
/** The head the dump holds, the head of the history it lost, and that history's stream. */
let backupHead: number, lostHead: number;
let oldKey: string;
let oldStream: LogChange[];
/** A and B (by project P) saw the lost changes; C left before the dump. */
let posA: Position, posB: Position, posC: Position;
let byP: Filter;
/** Up right after the restore with a ring, its feed on the log while the old stream was current. */
let gwRing: GatewayHandle;
let watcher: Received;

async function openLog(): Promise<ChangeLog> {
  const l = new ChangeLog({ url: redis.url, retention: { maxLen: 100_000 }, log });
  await l.connect();
  stops.push(() => l.close());
  return l;
}

async function startAppender(l: ChangeLog): Promise<ChangeLogAppender> {
  const a = new ChangeLogAppender({ replicator, pool, changelog: l, log, reconcileEveryMs: 200, opTimeoutMs: 1000, retryMs: 100 });
  await a.start();
  return a;
}

async function gateway(opts: GatewayStartOptions & { onLog?: boolean } = {}): Promise<GatewayHandle> {
  const l = opts.onLog ? await openLog() : undefined;
  const g = await startGateway(db.url, { ...opts, ...(l ? { changeLog: l, replayLog: l } : {}) });
  stops.push(() => g.stop());
  return g;
}

async function jobs(projects: string[]): Promise<void> {
  for (const [i, p] of projects.entries()) await pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2)`, [p, `j${i}.pdf`]);
}

/** Every change stamped, and each given gateway's feed at the head. */
const settled = (...gws: GatewayHandle[]) =>
  waitFor('every change stamped and fed', async () => {
    const h = await headSeq(pool);
    return h > 0 && gws.every((g) => g.feed.position >= h) ? h : null;
  }, 30_000);

/** Until the stream `key` ends at `head`. */
const logged = (key: string, head: number) => waitFor(`${key} to hold seq ${head}`, async () => (await probe.lastOf(key))?.seq === head, 30_000);

/** The outbox's extraction_jobs changes after `since`, with their fingerprints: the oracle. */
async function outboxAfter(since: number): Promise<Seen[]> {
  const { rows } = await pool.query<{ seq: number; input: string }>(`SELECT seq::int AS seq, ${FP_INPUT} AS input FROM change_outbox WHERE table_name = 'extraction_jobs' AND seq > $1 ORDER BY seq`, [since]);
  return rows.map((r) => ({ seq: r.seq, fp: fingerprint(r.input) }));
}

const seen = (r: Received): Seen[] => r.changes.map((c) => ({ seq: c.seq, fp: c.fp }));
const sources = (gw: GatewayHandle) => gw.gateway.stats().replaySources;

async function follow(gw: GatewayHandle, req: Position & { filter?: Filter }): Promise<Received> {
  const r = new Received(await connect(gw.port, token()));
  expect(await r.subscribe({ channel: 'extraction_jobs', ...req })).toMatchObject({ ok: true });
  await waitFor('live or resync', () => r.lives.length > 0 || r.resyncs.length > 0, 30_000);
  return r;
}

/** A resume to its outcome; one more round trip then brings whatever was sent before it. */
async function resume(gw: GatewayHandle, req: Position & { filter?: Filter }): Promise<Received> {
  const r = await follow(gw, req);
  await r.socket.timeout(10_000).emitWithAck('unsubscribe', { id: r.id });
  r.socket.disconnect();
  return r;
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  pool.on('error', () => undefined);
  redis = await startRedis();
  probe = await openLog();
  replicator = startReplicator(db.url);
  await replicator.start();
  await waitFor('the replicator to lead', () => replicator.status().role === 'leader', 60_000);
  const appender = await startAppender(await openLog());
  [P, Q] = await Promise.all(['P', 'Q'].map(async (n) => (await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [n])).rows[0]!.id)) as [string, string];
  byP = { project_id: P };
  const gw = await gateway({ onLog: true });

  // 1. Changes stamped and appended, and three clients following them.
  await jobs([P, Q, P, Q, P, Q]);
  let head = await settled(gw);
  oldKey = await waitFor('the first history', () => probe.current());
  await logged(oldKey, head);
  const [a, b, c] = [await follow(gw, { since: 0 }), await follow(gw, { since: 0, filter: byP }), await follow(gw, { since: 0 })];
  await waitFor('the clients to reach the head', () => a.lastSeq === head && c.lastSeq === head && b.lastSeq > 0);
  posC = c.position;
  c.socket.disconnect();

  // 2. C's position is before the dump's head; A and B see what the restore takes away.
  await jobs([Q, P]);
  backupHead = await settled(gw);
  await dump(pool, 'dump_log');
  await jobs([Q, P, Q, P]);
  lostHead = head = await settled(gw);
  await logged(oldKey, head);
  await waitFor('A and B to see the lost changes', () => a.lastSeq === head && b.lastSeq === head);
  [posA, posB] = [a.position, b.position];
  oldStream = await probe.range(oldKey, 0, 1000);
  a.socket.disconnect();
  b.socket.disconnect();

  // 3. Everything stopped, the dump restored, the replicator back without its appender.
  await gw.stop();
  await appender.stop();
  await replicator.stop();
  await restore(pool, 'dump_log');
  expect(await headSeq(pool)).toBe(backupHead);
  replicator = startReplicator(db.url);
  await replicator.start();
  await waitFor('the replicator to lead again', () => replicator.status().role === 'leader', 60_000);
}, 180_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await replicator?.stop();
  await redis?.stop();
  await pool?.end();
  await db?.drop();
});

test('before the leader opens a new stream, the lost history stays current: a replay and the live feed hand on the outbox\'s changes, none of its', async () => {
  expect(await probe.current()).toBe(oldKey);
  expect(oldStream.at(-1)!.seq).toBe(lostHead);
  // Its feed starts at the restored head, which both histories share: the stream's entries
  // after it are the lost ones.
  gwRing = await gateway({ onLog: true, ring: { changes: 100_000, bytes: 1 << 30 } });
  watcher = await follow(gwRing, await positionAt(pool, backupHead));
  expect(gwRing.feed.position, 'the feed handed on nothing of the old stream').toBe(backupHead);
  expect(watcher.resyncs).toEqual([]);
  // Fewer new changes than were lost: the old stream holds other changes at these seqs.
  await jobs([P, Q]);
  const head = await settled(gwRing);
  expect(head).toBeLessThan(lostHead);
  expect(gwRing.feed.position).toBe(head);
  const fresh = await outboxAfter(backupHead);
  await waitFor('the live client to receive the new changes', () => watcher.lastSeq >= head);
  expect(seen(watcher)).toEqual(fresh);
  expect(oldStream.find((e) => e.seq === head)!.fp).not.toBe(fresh.at(-1)!.fp);

  const c = await resume(gwRing, posC);
  expect(c.resyncs).toEqual([]);
  expect(seen(c)).toEqual(await outboxAfter(posC.since));
  // The stream's change at the replay's head is not the outbox's: the log served nothing.
  expect(sources(gwRing).redis).toBe(0);

  // The new history passes the old stream's end, which the leader has still not replaced:
  // its last entry is now comparable, and another change than the outbox's.
  await jobs([Q, P, Q]);
  const past = await settled(gwRing);
  expect(past).toBeGreaterThan(lostHead);
  await waitFor('the live client to receive them', () => watcher.lastSeq >= past);
  expect(seen(watcher)).toEqual(await outboxAfter(backupHead));
  expect(await probe.current()).toBe(oldKey);
  // Every change it handed on came from the outbox.
  expect(gwRing.feed.onLog).toBe(false);
  expect(gwRing.feed.sources.log).toBe(0);
});

test('a restored database writing to a new stream key makes resuming clients resync history-changed whichever source would have served them', async () => {
  const appender = await startAppender(await openLog());
  stops.push(() => appender.stop());
  const newKey = await waitFor('the leader to open a new history', async () => {
    const k = await probe.current();
    return k !== oldKey ? k : null;
  }, 30_000);
  await jobs([Q, P, Q, P]);
  const head = await settled(gwRing);
  await logged(newKey, head);
  expect(await probe.current()).toBe(newKey);
  expect(head).toBeGreaterThan(lostHead);
  await waitFor('the feed of the gateway up since the restore to take the new stream', () => gwRing.feed.onLog, 30_000);
  expect(await probe.range(oldKey, 0, 1000)).toEqual(oldStream);
  for (const p of [posA, posB]) expect(await fpAt(pool, p.since)).not.toBe(p.fp);
  expect(posB.since).toBeGreaterThan(backupHead);

  // The ring of a gateway up since the restore, a fresh one's log, a fresh one's outbox:
  // each holds the new history at these positions, and would serve a replay from them.
  const gwLog = await gateway({ onLog: true });
  const gwPg = await gateway();
  await settled(gwRing, gwLog, gwPg);
  for (const [name, gw] of [['ring', gwRing], ['log', gwLog], ['outbox', gwPg]] as const) {
    for (const [who, req] of [['A', posA], ['B', { ...posB, filter: byP }]] as const) {
      const r = await resume(gw, req);
      expect(r.resyncs.map((e) => e.reason), `${who} on the ${name} gateway`).toEqual(['history-changed']);
      expect(r.changes, `${who} on the ${name} gateway`).toEqual([]);
      expect(r.lives, `${who} on the ${name} gateway`).toEqual([]);
    }
  }
  // The control: A's seq with the new history's fingerprint replays, from the source each
  // gateway would have served A from.
  for (const [gw, source] of [[gwRing, 'ring'], [gwLog, 'redis'], [gwPg, 'postgres']] as const) {
    const served = sources(gw)[source];
    const r = await resume(gw, await positionAt(pool, posA.since));
    expect(r.resyncs).toEqual([]);
    expect(seen(r)).toEqual(await outboxAfter(posA.since));
    expect(sources(gw)[source], source).toBeGreaterThan(served);
  }

  // C, at a position both histories share: the new history after it, from the log.
  const { redis, postgres } = sources(gwLog);
  const c = await resume(gwLog, posC);
  expect(c.resyncs).toEqual([]);
  const expected = await outboxAfter(posC.since);
  expect(seen(c)).toEqual(expected);
  const lost = new Set(oldStream.filter((e) => e.seq > backupHead).map((e) => e.fp));
  expect(seen(c).filter((e) => lost.has(e.fp!))).toEqual([]);
  expect(sources(gwLog).postgres).toBe(postgres);
  expect(sources(gwLog).redis).toBeGreaterThan(redis);
  // And the client live on the gateway since the restore: the new history, across the new stream.
  await waitFor('the live client to reach the head', () => watcher.lastSeq >= head);
  expect(seen(watcher)).toEqual(await outboxAfter(backupHead));
});
