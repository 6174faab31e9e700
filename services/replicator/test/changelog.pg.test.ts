// The leader appends every stamped change to the change log on a real redis-server: a
// write load arrives once, dense, with the outbox's fingerprints; a standby appends
// nothing; a leader change keeps the stream dense; another history opens a new epoch.
import pg from 'pg';
import { expect, test } from 'vitest';
import { createTestDatabase } from '@realtime/db/testing';
import { inProcess, useDatabase, waitFor, waitForAllStamped, waitForMode, writeLoad } from './helpers';
import { expectStreamMatchesOutbox, outboxHeadOf, streamEntries, untilCaughtUp, useRedis } from './changelog-helpers';

const fx = useDatabase();
const rx = useRedis();

test('every stamped change of a write load reaches the stream once, dense, with the outbox fingerprints', async () => {
  const replicator = inProcess(fx.db.url);
  const appender = rx.appender(replicator, fx.pool, 'load');
  const reader = await rx.reader('load');
  await appender.start();
  await replicator.start();
  try {
    await waitForMode(fx.pool, 'wal');
    const written = await writeLoad(fx.db.url, { writers: 4, total: 5000 });
    await waitForAllStamped(fx.pool);
    const { key, head } = await untilCaughtUp(reader, fx.pool);
    expect(head).toBe(written);
    expect(await expectStreamMatchesOutbox(reader, fx.pool, key, head), 'from the first change on').toBe(1);
    await waitFor('the status to show the log at the head', async () => appender.status().lag === 0 && appender.status().lastSeq === head);
    expect(appender.status()).toMatchObject({ key, lastSeq: head, connected: true, lastError: null });
    expect(appender.health().ok).toBe(true);
  } finally {
    await replicator.stop();
    await appender.stop();
  }
});

test('a standby appends nothing; once it leads it starts the log at the head page and follows on', async () => {
  const leader = inProcess(fx.db.url, { standbyPollMs: 100 });
  const standby = inProcess(fx.db.url, { standbyPollMs: 100 });
  const appender = rx.appender(standby, fx.pool, 'standby');
  const reader = await rx.reader('standby');
  await leader.start();
  try {
    await waitFor('the first replicator to lead', async () => leader.status().role === 'leader');
    await appender.start();
    await standby.start();
    await waitFor('the second to stand by', async () => standby.status().role === 'standby');
    await waitFor('the standby appender to reach Redis', async () => appender.status().connected);
    await writeLoad(fx.db.url, { writers: 2, total: 3000 });
    const headBefore = await waitForAllStamped(fx.pool).then(() => outboxHeadOf(fx.pool));
    expect(standby.status().role).toBe('standby');
    expect(await reader.current(), 'no history opened, so nothing appended').toBeNull();
    expect(appender.status()).toMatchObject({ key: null, lastSeq: null });

    await leader.stop();
    await waitFor('the standby to lead', async () => standby.status().role === 'leader');
    const { key, head } = await untilCaughtUp(reader, fx.pool);
    expect(head).toBe(headBefore);
    expect(await expectStreamMatchesOutbox(reader, fx.pool, key, head), 'the head page').toBe(head - 999);

    await writeLoad(fx.db.url, { writers: 2, total: 500 });
    await waitForAllStamped(fx.pool);
    const after = await untilCaughtUp(reader, fx.pool);
    expect(after.key).toBe(key);
    expect(await expectStreamMatchesOutbox(reader, fx.pool, key, after.head)).toBe(head - 999);
  } finally {
    await leader.stop();
    await standby.stop();
    await appender.stop();
  }
});

test('a leader change under writes keeps the stream dense and without duplicates, in one history', async () => {
  const a = inProcess(fx.db.url, { standbyPollMs: 100 });
  const b = inProcess(fx.db.url, { standbyPollMs: 100 });
  const appA = rx.appender(a, fx.pool, 'handover');
  const appB = rx.appender(b, fx.pool, 'handover');
  const reader = await rx.reader('handover');
  await appA.start();
  await a.start();
  const signal = { stop: false };
  let load: Promise<number> | null = null;
  try {
    await waitFor('a to lead', async () => a.status().role === 'leader');
    await waitForMode(fx.pool, 'wal');
    await appB.start();
    await b.start();
    await waitFor('b to stand by', async () => b.status().role === 'standby');
    const key = await waitFor('a to open the history', () => reader.current());
    const start = await outboxHeadOf(fx.pool);
    load = writeLoad(fx.db.url, { writers: 4, total: 1_000_000, signal });
    await waitFor('the log to follow a for a while', async () => ((await reader.lastOf(key))?.seq ?? 0) > start + 1500, 60_000);
    // As a process stops its services: the replicator, then the appender after it.
    await a.stop();
    await appA.stop();
    await waitFor('b to lead', async () => b.status().role === 'leader');
    const switched = await outboxHeadOf(fx.pool);
    await waitFor('b to stamp and append for a while', async () => ((await reader.lastOf(key))?.seq ?? 0) > switched + 1500, 60_000);
    signal.stop = true;
    await load;
    await waitForAllStamped(fx.pool);
    const end = await untilCaughtUp(reader, fx.pool);
    expect(end.key, 'no new epoch across the change').toBe(key);
    const first = await expectStreamMatchesOutbox(reader, fx.pool, key, end.head);
    expect(first).toBeLessThanOrEqual(start + 1);
  } finally {
    signal.stop = true;
    await load;
    await a.stop();
    await b.stop();
    await appA.stop();
    await appB.stop();
  }
});

test('a database whose history differs opens a new epoch: a rewritten last row, then another database', async () => {
  const replicator = inProcess(fx.db.url);
  const appender = rx.appender(replicator, fx.pool, 'history');
  const reader = await rx.reader('history');
  await appender.start();
  await replicator.start();
  let first: { key: string; head: number };
  try {
    await waitForMode(fx.pool, 'wal');
    await writeLoad(fx.db.url, { writers: 2, total: 400 });
    await waitForAllStamped(fx.pool);
    first = await untilCaughtUp(reader, fx.pool);
    const [[, fpBefore]] = (await streamEntries(reader, first.key)).slice(-1) as [[number, string]];
    // The same seq, another change: what a restore or a promoted replica shows.
    await fx.pool.query(`UPDATE change_outbox SET committed_at = committed_at + interval '1 second' WHERE seq = $1`, [first.head]);
    const moved = await waitFor('current to move to a new history', async () => {
      const k = await reader.current();
      return k !== null && k !== first.key ? k : false;
    });
    const now = await untilCaughtUp(reader, fx.pool);
    expect(now.key).toBe(moved);
    expect(await expectStreamMatchesOutbox(reader, fx.pool, moved, now.head)).toBe(Math.max(1, now.head - 999));
    const [[, fpAfter]] = (await streamEntries(reader, moved)).slice(-1) as [[number, string]];
    expect(fpAfter).not.toBe(fpBefore);
    expect(await reader.lastOf(first.key), 'the old stream is left as it was').toEqual({ seq: first.head, fp: fpBefore });
  } finally {
    await replicator.stop();
    await appender.stop();
  }

  // The same Redis and prefix behind another database, with fewer changes of its own.
  const other = await createTestDatabase();
  const otherPool = new pg.Pool({ connectionString: other.url, max: 2 });
  const r2 = inProcess(other.url, { slot: 'realtime_outbox_other' });
  // Its stream ends beyond this database's head, and this leader did not write it: another history.
  const app2 = rx.appender(r2, otherPool, 'history');
  try {
    const before = await reader.current();
    await writeLoad(other.url, { writers: 1, total: 50 });
    await app2.start();
    await r2.start();
    await waitForAllStamped(otherPool);
    const moved = await waitFor('current to move to the other database history', async () => {
      const k = await reader.current();
      return k !== null && k !== before ? k : false;
    });
    const caught = await untilCaughtUp(reader, otherPool);
    expect(caught.key).toBe(moved);
    expect(await expectStreamMatchesOutbox(reader, otherPool, moved, caught.head)).toBe(1);
  } finally {
    await r2.stop();
    await app2.stop();
    await otherPool.end();
    await other.drop();
  }
});

test("a new leader whose first batch passes another history's stream: a new epoch, never one stream of two histories", async () => {
  // A stream of this database's history, as a restore's lost changes would leave it.
  const replicator = inProcess(fx.db.url);
  const appender = rx.appender(replicator, fx.pool, 'two-histories');
  const reader = await rx.reader('two-histories');
  await appender.start();
  await replicator.start();
  let ended: { key: string; head: number };
  try {
    await writeLoad(fx.db.url, { writers: 1, total: 40 });
    await waitForAllStamped(fx.pool);
    ended = await untilCaughtUp(reader, fx.pool);
  } finally {
    await replicator.stop();
    await appender.stop();
  }
  // Another database, behind the same Redis and prefix, with more changes than that stream
  // holds, all waiting to be stamped: its leader's first batch runs past the stream's end,
  // before any reconcile of its own.
  const other = await createTestDatabase();
  const otherPool = new pg.Pool({ connectionString: other.url, max: 2 });
  const r2 = inProcess(other.url, { slot: 'realtime_outbox_two' });
  // No periodic reconcile to come first by luck: only the one a leader's first batch waits for.
  const app2 = rx.appender(r2, otherPool, 'two-histories', { reconcileEveryMs: 3_600_000 });
  try {
    await writeLoad(other.url, { writers: 1, total: ended.head + 60 });
    await app2.start();
    await r2.start();
    await waitForAllStamped(otherPool);
    const moved = await waitFor('current to move to the other database history', async () => {
      const k = await reader.current();
      return k !== null && k !== ended.key ? k : false;
    });
    const caught = await untilCaughtUp(reader, otherPool);
    expect(caught.key).toBe(moved);
    // Every entry of the new stream is the other database's, from its first (the page of
    // the head it was opened at) to the head.
    const first = await expectStreamMatchesOutbox(reader, otherPool, moved, caught.head);
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(caught.head);
    expect(await reader.lastOf(ended.key), 'the old stream is left as it was').toEqual(expect.objectContaining({ seq: ended.head }));
  } finally {
    await r2.stop();
    await app2.stop();
    await otherPool.end();
    await other.drop();
  }
});
