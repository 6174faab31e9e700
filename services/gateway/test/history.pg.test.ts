// History identity (docs/replicator.md, "History identity"): a position is a seq and the
// fingerprint of the change stamped with it, and every resume is checked against the
// history the outbox holds now. A database restored from a dump or a file-level backup
// (a stopped cluster's data folder put back; point-in-time recovery and a promoted replica
// run for real in history-replica.pg.test.ts), another
// database behind the same URL, or outbox rows removed by hand: the position of a client
// that saw the lost history gets `resync` (`history-changed`) and never a replay, even once
// the new history's seqs have passed it. A position the new history shares (before the
// restore point), and any position after a plain restart, resumes with a normal replay.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, describe, expect, test } from 'vitest';
import { createTestDatabase, migratedDatabase, startTestCluster, type TestDatabase } from '@realtime/db/testing';
import { decodeCursor, readCursor } from '@realtime/auth';
import { FP, asRestorer, at, dump, expectHistoryChanged, expectReplayFrom, follower, restore, resume, serve as serveOn, settled, write } from './history-helpers';
import { connect, fpAt, headSeq, secret, waitFor } from './helpers';

const run = promisify(execFile);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

const poolOf = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  return pool;
};

async function database(): Promise<{ db: TestDatabase; pool: pg.Pool }> {
  const db = await createTestDatabase();
  const pool = poolOf(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return { db, pool };
}

const serve = (url: string) => serveOn(url, cleanups);

describe('a restore from a dump', () => {
  test('writes continue past the old position: a client from the lost history resyncs (history-changed), one from before the dump replays', async () => {
    const { db, pool } = await database();
    let running = await serve(db.url);
    await write(pool, 5, 'kept');
    const dumped = await settled(pool, running.gw);
    const a = await follower(running.gw, dumped);
    const early = at(a, 2);

    await dump(pool, 'dump_a');
    // Written after the dump, seen by the client, and lost by the restore.
    await write(pool, 4, 'lost');
    const lostHead = await settled(pool, running.gw);
    await waitFor('the client to see the lost changes', () => a.lastSeq === lostHead);
    const late = a.position;
    expect(late.fp).toMatch(FP);
    const lostCursor = await readCursor(secret, pool);
    a.socket.disconnect();
    await running.stop();

    await restore(pool, 'dump_a');
    expect(await headSeq(pool)).toBe(dumped);
    running = await serve(db.url);
    // More than was lost: the new history's seqs pass the client's position.
    await write(pool, 8, 'new');
    const head = await settled(pool, running.gw);
    expect(head).toBeGreaterThan(late.since);
    expect(await fpAt(pool, late.since)).not.toBe(late.fp);

    expectHistoryChanged(await resume(running.gw, late));
    expectHistoryChanged(await resume(running.gw, { cursor: lostCursor }));
    expectHistoryChanged(await resume(running.gw, { ...late, cursor: lostCursor }));
    // Before the dump point the histories are one: a normal replay of the new one.
    await expectReplayFrom(await resume(running.gw, early), pool, early.since);
  });
});

describe('a list read while the last transactions before it were still unstamped', () => {
  // The stamp trails the commit: a list can hold a transaction that has no seq yet, so its
  // cursor's head is older than what it shows. A restore to a point between the two keeps
  // the head's row (same fingerprint) and loses the transaction the list shows.
  test('restored to a point before them: history-changed, though the head row survived', async () => {
    const { db, pool } = await database();
    let running = await serve(db.url);
    await write(pool, 5, 'kept');
    const dumped = await settled(pool, running.gw);
    // No replicator: what is written now stays unstamped, as in the stamp's short lag.
    await running.stop();
    await dump(pool, 'dump_p');
    await write(pool, 2, 'unstamped');
    const cursor = await readCursor(secret, pool);
    expect(decodeCursor(secret, cursor)).toMatchObject({ headSeq: dumped, pending: { lo: expect.any(Number), hi: expect.any(Number) } });

    await restore(pool, 'dump_p');
    expect(await headSeq(pool)).toBe(dumped);
    running = await serve(db.url);
    await write(pool, 4, 'new');
    await settled(pool, running.gw);
    expectHistoryChanged(await resume(running.gw, { cursor }));
  });

  test('nothing lost: the cursor resumes, and what it already held is not sent again', async () => {
    const { db, pool } = await database();
    let running = await serve(db.url);
    await write(pool, 3, 'a');
    const head = await settled(pool, running.gw);
    await running.stop();
    await write(pool, 2, 'unstamped');
    const cursor = await readCursor(secret, pool);
    expect(decodeCursor(secret, cursor).pending).not.toBeNull();
    running = await serve(db.url);
    await write(pool, 2, 'after');
    const now = await settled(pool, running.gw);
    expect(now).toBe(head + 4);
    const r = await resume(running.gw, { cursor });
    expect(r.resyncs).toEqual([]);
    // The two the list held (stamped head+1, head+2 after it was read) are skipped by its snapshot.
    expect(r.seqs).toEqual([head + 3, head + 4]);
  });
});

describe('outbox rows removed by hand', () => {
  test('at the position, and inside the replay range: history-changed; after the hole: a normal replay', async () => {
    const { db, pool } = await database();
    const running = await serve(db.url);
    await write(pool, 10, 'r');
    const head = await settled(pool, running.gw);
    const a = await follower(running.gw, head);
    const [before, hole, after] = [at(a, 2), at(a, 5), at(a, 6)];
    await asRestorer(pool, (c) => c.query(`DELETE FROM change_outbox WHERE seq = $1`, [hole.since]));

    expectHistoryChanged(await resume(running.gw, hole));
    expectHistoryChanged(await resume(running.gw, before));
    await expectReplayFrom(await resume(running.gw, after), pool, after.since);
  });
});

describe('another database behind the same URL', () => {
  test('a fresh database with a history at least as long: history-changed for a position and a cursor of the first', async () => {
    const first = await database();
    let running = await serve(first.db.url);
    await write(first.pool, 6, 'first');
    const head = await settled(first.pool, running.gw);
    const a = await follower(running.gw, head);
    const pos = a.position;
    expect(pos.fp).toMatch(FP);
    const cursor = await readCursor(secret, first.pool);
    a.socket.disconnect();
    await running.stop();

    const second = await database();
    running = await serve(second.db.url);
    await write(second.pool, 12, 'second');
    expect(await settled(second.pool, running.gw)).toBeGreaterThan(pos.since);
    expectHistoryChanged(await resume(running.gw, pos));
    expectHistoryChanged(await resume(running.gw, { cursor }));
  });
});

describe('an unchanged history', () => {
  test('after a restart of replicator and gateway, a position (numbered early, from the WAL) and a list cursor resume with a normal replay', async () => {
    const { db, pool } = await database();
    let running = await serve(db.url);
    await write(pool, 3, 'x');
    const head = await settled(pool, running.gw);
    const a = await follower(running.gw, head);
    // Live changes: in-process, numbered from the WAL before their stamp. Their fingerprint
    // must be the one the stamped row has.
    await write(pool, 3, 'live');
    const liveHead = await settled(pool, running.gw);
    await waitFor('the live changes', () => a.lastSeq === liveHead);
    for (const c of a.changes) expect(c.fp).toBe(await fpAt(pool, c.seq));
    const pos = a.position;
    const cursor = await readCursor(secret, pool);
    a.socket.disconnect();
    await running.stop();

    running = await serve(db.url);
    await write(pool, 4, 'y');
    await settled(pool, running.gw);
    await expectReplayFrom(await resume(running.gw, pos), pool, pos.since);
    await expectReplayFrom(await resume(running.gw, { cursor }), pool, liveHead);
    await expectReplayFrom(await resume(running.gw, { ...pos, cursor }), pool, pos.since);
    // The same seq with another fingerprint, or none: not this history's position.
    expectHistoryChanged(await resume(running.gw, { since: pos.since, fp: 'AAAAAAAAAAAA' }));
    expectHistoryChanged(await resume(running.gw, { since: pos.since }));
  });
});

describe('a file-level restore (a stopped cluster\'s data folder put back)', () => {
  test('the data folder put back: history-changed for a position of the lost history, a normal replay before it', async () => {
    const cluster = await startTestCluster();
    cleanups.push(() => cluster.stop());
    const url = await migratedDatabase(cluster, 'pitr');
    let pool = poolOf(url);
    const backup = path.join(cluster.root, 'backup');
    // Everything on disk, then every process of the cluster gone: a consistent copy.
    const halt = async () => {
      await pool.query('CHECKPOINT');
      await pool.end();
      await cluster.crash();
    };
    cleanups.push(async () => {
      await pool.end().catch(() => undefined);
    });

    let running = await serve(url);
    await write(pool, 5, 'kept');
    const copied = await settled(pool, running.gw);
    const a = await follower(running.gw, copied);
    const early = at(a, 2);
    a.socket.disconnect();
    await running.stop();
    await halt();
    await run('cp', ['-a', cluster.dataDir, backup]);
    await cluster.restart();
    pool = poolOf(url);

    running = await serve(url);
    const b = await follower(running.gw, copied);
    await write(pool, 4, 'lost');
    const lostHead = await settled(pool, running.gw);
    await waitFor('the client to see the lost changes', () => b.lastSeq === lostHead);
    const late = b.position;
    expect(late.fp).toMatch(FP);
    const lostCursor = await readCursor(secret, pool);
    b.socket.disconnect();
    await running.stop();
    await halt();
    await fs.rm(cluster.dataDir, { recursive: true, force: true });
    await run('cp', ['-a', backup, cluster.dataDir]);
    await cluster.restart();
    pool = poolOf(url);
    expect(await headSeq(pool)).toBe(copied);

    running = await serve(url);
    await write(pool, 8, 'new');
    expect(await settled(pool, running.gw)).toBeGreaterThan(late.since);
    expectHistoryChanged(await resume(running.gw, late));
    expectHistoryChanged(await resume(running.gw, { cursor: lostCursor }));
    await expectReplayFrom(await resume(running.gw, early), pool, early.since);
    await running.stop();
    await pool.end();
  });
});
