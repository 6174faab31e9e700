// Stamps commit without waiting for the disk, and their changes go out at once; the slot
// is acknowledged only once a stamp is flushed. These tests hold a stamp between the two
// (Postgres's WAL writer stopped, so nothing flushes it), kill the leader there, and in
// the second also crash Postgres so that the stamp is lost. Either way the successor must
// give every change the seq the clients already hold: no seq for two different changes,
// no change lost, none twice. See docs/replicator.md, "Off the live path"
// (stamps commit without waiting for the disk).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import pg from 'pg';
import { afterEach, expect, test } from 'vitest';
import { migratedDatabase, startTestCluster, type TestCluster } from '@realtime/db/testing';
import { Received, startGateway, token, connect, waitFor, type GatewayHandle, type Client } from './helpers';
import { spawnMain } from '@realtime/testkit';

// Nothing but a committing writer may flush the WAL while a test holds a stamp unflushed.
const SETTINGS = { autovacuum: 'off', bgwriter_lru_maxpages: 0, checkpoint_timeout: '1d', max_wal_size: '10GB' };

interface Db {
  cluster: TestCluster;
  url: string;
  pool: pg.Pool;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

const poolOf = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  return pool;
};

async function database(): Promise<Db> {
  const cluster = await startTestCluster({ settings: SETTINGS });
  const url = await migratedDatabase(cluster, 'durability');
  const db: Db = { cluster, url, pool: poolOf(url) };
  cleanups.push(async () => {
    await db.pool.end().catch(() => undefined);
    // A test that failed halfway may leave a cluster that no longer stops cleanly.
    const stopped = await Promise.race([db.cluster.stop().then(() => true, () => false), sleep(20_000).then(() => false)]);
    if (!stopped) {
      await db.cluster.crash().catch(() => undefined);
      await fs.rm(db.cluster.root, { recursive: true, force: true });
    }
  });
  return db;
}

interface Leader {
  proc: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** The replicator's own entry point as a child process, so that SIGKILL is a real crash. */
function spawnLeader(url: string): Leader {
  const child = spawnMain('replicator', { env: { DATABASE_URL: url, PORT: '0', DEMO: '0', LOG_LEVEL: 'info', SAFETY_POLL_MS: '200', WAL_RETRY_MS: '1000', STAMP_COMMIT: 'async' } });
  const proc = child.proc;
  const exited = child.exited.then((r) => r.code);
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  return { proc, exited, output: child.output };
}

async function one<T>(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await pool.query(sql, params);
  return rows[0] as T;
}

async function walWriterPid(pool: pg.Pool): Promise<number> {
  const r = await one<{ pid: number } | undefined>(pool, `SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'`);
  if (!r) throw new Error('no walwriter in pg_stat_activity');
  return r.pid;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A client subscribed to every project, live, recording what it receives. */
async function watcher(gw: GatewayHandle): Promise<{ socket: Client; got: Received }> {
  const socket = await connect(gw.port, token());
  cleanups.push(async () => void socket.disconnect());
  const got = new Received(socket);
  const ack = await got.subscribe({ channel: 'projects', since: 0 });
  expect(ack.ok).toBe(true);
  await waitFor('the subscription to be live', () => got.lives.length > 0);
  return { socket, got };
}

/** seq -> "op row id" as the clients received it. */
const heldBy = (got: Received) => new Map(got.changes.map((c) => [c.seq, `${c.op} ${String((c.row ?? c.old)?.id)}`]));

/** seq -> "op row id" as the outbox says now; fails on a seq given twice. */
async function outboxBySeq(pool: pg.Pool): Promise<Map<number, string>> {
  const { rows } = await pool.query(`SELECT seq::int AS seq, op, row_id FROM change_outbox WHERE seq IS NOT NULL ORDER BY seq`);
  const map = new Map<number, string>();
  for (const r of rows) {
    expect(map.has(r.seq), `seq ${r.seq} given twice`).toBe(false);
    map.set(r.seq, `${r.op} ${r.row_id}`);
  }
  return map;
}

async function insertProjects(pool: pg.Pool, n: number, tag: string): Promise<string> {
  await pool.query(`INSERT INTO projects (name) SELECT $2 || g FROM generate_series(1, $1::int) g`, [n, tag]);
  // At or past the insert's commit record: a slot confirmed below this can send it again.
  return (await one<{ lsn: string }>(pool, `SELECT pg_current_wal_insert_lsn()::text AS lsn`)).lsn;
}

async function slotConfirmedBelow(pool: pg.Pool, lsn: string): Promise<boolean> {
  const r = await one<{ below: boolean }>(
    pool,
    `SELECT confirmed_flush_lsn < $1::pg_lsn AS below FROM pg_replication_slots WHERE slot_name = 'realtime_outbox'`,
    [lsn],
  );
  return r.below;
}

async function waitForWal(pool: pg.Pool): Promise<void> {
  await waitFor('the leader to stream in WAL mode', async () => (await one<{ mode: string }>(pool, `SELECT mode FROM realtime_state`)).mode === 'wal', 60_000);
}

/** A database, a leader process streaming it, a gateway of this process reading the outbox, and a client of it. */
async function stack(): Promise<{ db: Db; leader: Leader; gw: GatewayHandle; got: Received }> {
  const db = await database();
  const leader = spawnLeader(db.url);
  await waitForWal(db.pool);
  const gw = await startGateway(db.url);
  cleanups.push(() => gw.stop());
  const { got } = await watcher(gw);
  return { db, leader, gw, got };
}

test('the leader killed after its stamp went out but before it was flushed: the successor keeps every seq the clients hold', async () => {
  const { db, leader, gw, got } = await stack();

  const walwriter = await walWriterPid(db.pool);
  process.kill(walwriter, 'SIGSTOP');
  cleanups.push(async () => void (alive(walwriter) && process.kill(walwriter, 'SIGCONT')));
  const committed = await insertProjects(db.pool, 50, 'before ');
  await waitFor('the 50 changes to reach the client', () => got.changes.length === 50);
  // Delivered, and not acknowledged: the stamp is not on disk, so the slot keeps the insert.
  expect(await slotConfirmedBelow(db.pool, committed), 'the slot was acknowledged past a stamp not yet flushed').toBe(true);
  const flushed = await one<{ behind: boolean }>(db.pool, `SELECT pg_current_wal_flush_lsn() < pg_current_wal_insert_lsn() AS behind`);
  expect(flushed.behind, 'the stamp is already on disk: the test would prove nothing').toBe(true);

  leader.proc.kill('SIGKILL');
  expect(await leader.exited).toBeNull();
  process.kill(walwriter, 'SIGCONT');

  const successor = spawnLeader(db.url);
  await waitForWal(db.pool);
  await insertProjects(db.pool, 20, 'after ');
  await waitFor('70 changes at the client', () => got.changes.length >= 70);
  await waitFor('the slot to be acknowledged past the insert once flushed', async () => !(await slotConfirmedBelow(db.pool, committed)));

  const outbox = await outboxBySeq(db.pool);
  expect([...outbox.keys()]).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
  expect(got.seqs).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
  expect(heldBy(got)).toEqual(outbox);
  successor.proc.kill('SIGTERM');
  expect(await successor.exited).toBe(0);
}, 120_000);

test('the leader and Postgres both crash before the stamp is flushed: the stamp is lost, and the successor gives the same seqs to the same changes', async () => {
  const { db, leader, gw, got } = await stack();

  // Two transactions from two writers, B committing first though A inserted first, so
  // that commit order and id order differ. Both commit before the leader stamps either:
  // a writer's commit flushes the WAL before it, and with it any stamp already made.
  const a = new pg.Client({ connectionString: db.url });
  const b = new pg.Client({ connectionString: db.url });
  await a.connect();
  await b.connect();
  await a.query('BEGIN');
  await a.query(`INSERT INTO projects (name) SELECT 'a' || g FROM generate_series(1, 20) g`);
  leader.proc.kill('SIGSTOP');
  await b.query(`INSERT INTO projects (name) SELECT 'b' || g FROM generate_series(1, 20) g`);
  await a.query('COMMIT');
  await a.end();
  await b.end();
  const committed = (await one<{ lsn: string }>(db.pool, `SELECT pg_current_wal_insert_lsn()::text AS lsn`)).lsn;
  const walwriter = await walWriterPid(db.pool);
  process.kill(walwriter, 'SIGSTOP');
  // A failure before the crash must not leave a cluster that cannot stop.
  cleanups.push(async () => void (alive(walwriter) && process.kill(walwriter, 'SIGCONT')));
  leader.proc.kill('SIGCONT');

  await waitFor('the 40 changes to reach the client', () => got.changes.length === 40);
  const before = heldBy(got);
  expect(got.changes.slice(0, 20).map((c) => String(c.row?.name)[0]).join(''), 'B committed first: its rows hold the lower seqs').toBe('b'.repeat(20));
  expect(await slotConfirmedBelow(db.pool, committed)).toBe(true);

  // The crash: the leader, then every process of the cluster, with the WAL writer still stopped.
  leader.proc.kill('SIGKILL');
  expect(await leader.exited).toBeNull();
  await db.cluster.crash();
  await db.pool.end().catch(() => undefined);

  // Restart on the same folder: crash recovery replays the WAL that reached the OS.
  await db.cluster.restart();
  db.pool = poolOf(db.url);
  const survived = await one<{ n: number; rows: number }>(db.pool, `SELECT count(seq)::int AS n, count(*)::int AS rows FROM change_outbox`);
  expect(survived.rows, 'the writers committed synchronously: their rows survive').toBe(40);
  expect(survived.n, 'the stamp reached the disk: the test would prove nothing').toBe(0);

  const successor = spawnLeader(db.url);
  await waitForWal(db.pool);
  await waitFor('the successor to stamp the 40 changes again', async () => (await one<{ n: number }>(db.pool, `SELECT count(seq)::int AS n FROM change_outbox`)).n === 40, 60_000);
  expect(await outboxBySeq(db.pool), 'the successor numbered the lost stamp differently from what the clients hold').toEqual(before);

  // The gateway rides through the restart: later changes follow on, nothing twice.
  await insertProjects(db.pool, 10, 'after ');
  await waitFor('50 changes at the client', () => got.changes.length >= 50, 60_000);
  const outbox = await outboxBySeq(db.pool);
  expect([...outbox.keys()]).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(got.seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(heldBy(got)).toEqual(outbox);

  // A client that replays from the start now gets exactly what the first one holds.
  const late = await connect(gw.port, token());
  cleanups.push(async () => void late.disconnect());
  const replayed = new Received(late);
  expect((await replayed.subscribe({ channel: 'projects', since: 0 })).ok).toBe(true);
  await waitFor('the replay', () => replayed.changes.length >= 50);
  expect(heldBy(replayed)).toEqual(heldBy(got));
  successor.proc.kill('SIGTERM');
  expect(await successor.exited).toBe(0);
}, 180_000);
