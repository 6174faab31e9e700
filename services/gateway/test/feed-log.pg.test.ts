// The live feed on the shared change log (Redis Streams): the log is the feed, and the
// outbox is read only for what the log does not bring (a gap, a lag past logLagMs, a Redis
// that is away), every change still handed on once, in seq order. Two feeds on one log
// hand on the same seqs.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { createClient } from 'redis';
import { ChangeLog, type LogChange } from '@realtime/changelog';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { startRedis, waitFor, type RunningRedis } from '@realtime/testkit';
import { Feed, FP_INPUT, COMMITTED_AT_ISO, LOG_POLL_EVERY, toFeedChange } from '../src/feed';
import { log, startReplicator } from './helpers';
import type { Replicator } from '@realtime/replicator';

let db: TestDatabase;
let pool: pg.Pool;
let redis: RunningRedis;
let replicator: Replicator;
let project: string;
const open: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  redis = await startRedis();
  replicator = startReplicator(db.url);
  await replicator.start();
  await waitFor('the replicator to lead', () => replicator.status().role === 'leader', 60_000);
  project = (await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('fed') RETURNING id`)).rows[0]!.id;
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.stop();
});
afterAll(async () => {
  await replicator?.stop();
  await redis?.stop();
  await pool?.end();
  await db?.drop();
});

const head = async () => Number((await pool.query<{ h: string | null }>(`SELECT max(seq) AS h FROM change_outbox`)).rows[0]!.h ?? 0);

async function stamped(n: number): Promise<number> {
  await pool.query(`INSERT INTO extraction_jobs (project_id, document_name) SELECT $1, 'f-' || g || '.pdf' FROM generate_series(1, $2::int) g`, [project, n]);
  const want = await (async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox`)).rows[0]!.n))();
  await waitFor('every change to be stamped', async () => (await head()) === want, 60_000);
  return want;
}

/** The stamped rows after `after` as the log holds them. */
async function logged(after: number, upTo = Number.MAX_SAFE_INTEGER): Promise<LogChange[]> {
  const { rows } = await pool.query(
    `SELECT seq, table_name, op, new_row, old_row, txid::text AS txid, ${COMMITTED_AT_ISO} AS committed_at, row_bytes, ${FP_INPUT} AS fp_input
       FROM change_outbox WHERE seq > $1 AND seq <= $2 ORDER BY seq`,
    [after, upTo],
  );
  return rows.map(toFeedChange);
}

async function changeLog(): Promise<ChangeLog> {
  const l = new ChangeLog({ url: redis.url, retention: { maxLen: 100_000 }, log });
  await l.connect();
  open.push({ stop: () => l.close() });
  return l;
}

async function feed(changeLog: ChangeLog, opts: { logLagMs?: number; pollMs?: number } = {}) {
  const feedPool = new pg.Pool({ connectionString: db.url, max: 2 });
  const f = new Feed({ pool: feedPool, directUrl: db.url, log, changeLog, logLagMs: opts.logLagMs ?? 60_000, logBlockMs: 200, pollMs: opts.pollMs ?? 200 });
  const seqs: number[] = [];
  f.onChanges((batch) => seqs.push(...batch.map((c) => c.seq)));
  await f.start();
  open.push({
    stop: async () => {
      await f.stop();
      await feedPool.end();
    },
  });
  return { f, seqs, from: await head() };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + 1 + i);

test('the log is the feed: every change from it, once, in order, and no row read from the outbox', async () => {
  const l = await changeLog();
  const key = await l.openEpoch();
  await l.append(key, await logged(0));
  const { f, seqs, from } = await feed(l);
  await waitFor('the feed to take the log', () => f.onLog, 10_000);
  const to = await stamped(300);
  await l.append(key, await logged(from));
  await waitFor('the feed to reach the head', () => f.position === to, 30_000);
  expect(seqs).toEqual(range(from, to));
  expect(f.sources.postgres).toBe(0);
  expect(f.sources.log).toBeGreaterThan(0);
});

test('two feeds on one log hand on the same seqs', async () => {
  const l = await changeLog();
  const key = (await l.current())!;
  const a = await feed(l);
  const b = await feed(await changeLog());
  await waitFor('both feeds to take the log', () => a.f.onLog && b.f.onLog, 10_000);
  const to = await stamped(200);
  for (const c of await logged(a.from)) await l.append(key, [c]);
  await waitFor('both feeds to reach the head', () => a.f.position === to && b.f.position === to, 30_000);
  expect(a.seqs).toEqual(range(a.from, to));
  expect(b.seqs).toEqual(a.seqs);
  expect(a.f.sources.postgres + b.f.sources.postgres).toBe(0);
});

test('with the log up and the stamps heard, one safety poll in LOG_POLL_EVERY looks at the head, and a change the log lacks is still read', async () => {
  const l = await changeLog();
  const { f, seqs } = await feed(l, { pollMs: 20, logLagMs: 300 });
  await waitFor('the feed to take the log', () => f.onLog, 10_000);
  const start = f.logPolls;
  await waitFor(`${3 * LOG_POLL_EVERY} safety polls`, () => f.logPolls.polls - start.polls >= 3 * LOG_POLL_EVERY, 30_000);
  const looked = f.logPolls.headLooks - start.headLooks;
  const polled = f.logPolls.polls - start.polls;
  expect(looked).toBeGreaterThanOrEqual(Math.floor(polled / LOG_POLL_EVERY) - 1);
  expect(looked).toBeLessThanOrEqual(Math.ceil(polled / LOG_POLL_EVERY) + 1);
  // Changes stamped but never appended to the log: the NOTIFY (or a poll) shows the head,
  // and once logLagMs has passed the outbox is read.
  const before = f.position;
  const to = await stamped(10);
  await waitFor('the feed to read what the log lacks', () => f.position === to, 30_000);
  expect(seqs.filter((s) => s > before)).toEqual(range(before, to));
  expect(f.sources.postgres).toBeGreaterThan(0);
});

test('a log that starts after the position: the gap from the outbox, then the log', async () => {
  const l = await changeLog();
  const { f, seqs, from } = await feed(l);
  await waitFor('the feed to take the log', () => f.onLog, 10_000);
  const to = await stamped(100);
  // A new history's stream holding only the last 10: the 90 before them are not in it.
  const key = await l.openEpoch();
  await l.append(key, await logged(to - 10));
  await waitFor('the feed to reach the head', () => f.position === to, 30_000);
  expect(seqs).toEqual(range(from, to));
  expect(f.sources.postgres).toBeGreaterThan(0);
  // And the log again for what follows.
  const before = f.sources.log;
  const next = await stamped(20);
  await l.append(key, await logged(to));
  await waitFor('the feed to reach the new head', () => f.position === next, 30_000);
  expect(seqs).toEqual(range(from, next));
  expect(f.sources.log).toBeGreaterThan(before);
});

test('a log that lags: the outbox is read once logLagMs has passed', async () => {
  const l = await changeLog();
  const { f, seqs, from } = await feed(l, { logLagMs: 300 });
  await waitFor('the feed to take the log', () => f.onLog, 10_000);
  // Nothing appended: the log says nothing of these.
  const to = await stamped(50);
  await waitFor('the feed to reach the head from the outbox', () => f.position === to, 30_000);
  expect(seqs).toEqual(range(from, to));
  expect(f.sources.postgres).toBeGreaterThan(0);
  // Caught up by the outbox: the log's late copies change nothing.
  await l.append((await l.current())!, await logged(0));
  expect(seqs).toEqual(range(from, to));
});

test('Redis killed: the outbox feeds; Redis back empty with a new stream: the log again', async () => {
  const l = await changeLog();
  const { f, seqs, from } = await feed(l);
  await waitFor('the feed to take the log', () => f.onLog, 10_000);
  await redis.kill();
  await waitFor('the feed to leave the log', () => !f.onLog, 10_000);
  const mid = await stamped(40);
  await waitFor('the feed to reach the head from the outbox', () => f.position === mid, 30_000);
  await redis.restart();
  let key = '';
  await waitFor('the log to reconnect and open a stream', async () => {
    key = await l.openEpoch().catch(() => '');
    return key !== '';
  }, 30_000);
  await waitFor('the feed to take the log again', () => f.onLog, 30_000);
  const before = f.sources.log;
  const to = await stamped(40);
  await l.append(key, await logged(mid));
  await waitFor('the feed to reach the head', () => f.position === to, 30_000);
  expect(seqs).toEqual(range(from, to));
  expect(f.sources.log).toBeGreaterThan(before);
});

test('Redis frozen (SIGSTOP): the outbox feeds after logLagMs; thawed, the log again', async () => {
  const l = await changeLog();
  const key = (await l.current())!;
  await l.append(key, await logged(0)).catch(() => undefined);
  const { f, seqs, from } = await feed(l, { logLagMs: 300 });
  await waitFor('the feed to take the log', () => f.onLog, 10_000);
  await redis.pause();
  try {
    // The blocked read neither errs nor answers: only the lag tells.
    const mid = await stamped(30);
    await waitFor('the feed to reach the head from the outbox', () => f.position === mid, 30_000);
    expect(seqs).toEqual(range(from, mid));
  } finally {
    await redis.resume();
  }
  await l.append(key, await logged(from));
  const before = f.sources.log;
  const to = await stamped(30);
  await l.append(key, await logged(await (async () => (await l.lastOf(key))?.seq ?? 0)()));
  await waitFor('the feed to reach the head', () => f.position === to, 30_000);
  expect(seqs).toEqual(range(from, to));
  expect(f.sources.log + f.sources.postgres).toBeGreaterThan(before);
});

test('Redis down when the feed starts: the outbox feeds, and the log once Redis answers', async () => {
  const l = await changeLog();
  await redis.kill();
  const later = new ChangeLog({ url: redis.url, retention: { maxLen: 100_000 }, log });
  open.push({ stop: () => later.close() });
  const { f, seqs, from } = await feed(later);
  const mid = await stamped(20);
  await waitFor('the feed to reach the head from the outbox', () => f.position === mid, 30_000);
  expect(f.onLog).toBe(false);
  await redis.restart();
  let key = '';
  await waitFor('a stream in the restarted Redis', async () => {
    key = await l.openEpoch().catch(() => '');
    return key !== '';
  }, 30_000);
  await waitFor('the feed to take the log', () => f.onLog, 30_000);
  const to = await stamped(20);
  await l.append(key, await logged(mid));
  await waitFor('the feed to reach the head', () => f.position === to, 30_000);
  expect(seqs).toEqual(range(from, to));
  expect(f.sources.log).toBeGreaterThan(0);
});

test("a stream of another history (left from before a restore): never the feed, whether it ends past the outbox's head or holds another change within it", async () => {
  const l = await changeLog();
  const before = await stamped(0);
  // The outbox's changes up to the feed's position, then five of another history: a feed
  // starting there sits in the prefix both share, where the stream agrees with the outbox.
  const key = await l.openEpoch();
  const ours = await logged(0);
  const lost = [1, 2, 3, 4, 5].map((i) => ({ ...ours.at(-1)!, seq: before + i, fp: `lost${before + i}`, txid: '1' }));
  for (let i = 0; i < ours.length; i += 500) await l.append(key, ours.slice(i, i + 500));
  await l.append(key, lost);
  const { f, seqs, from } = await feed(l);
  const fps = new Map<number, string>();
  f.onChanges((batch) => batch.forEach((c) => fps.set(c.seq, c.fp)));
  const expectOutbox = async (to: number) => {
    await waitFor('the feed to reach the head', () => f.position >= to, 30_000);
    expect(f.position).toBe(to);
    expect(seqs).toEqual(range(from, to));
    for (const c of await logged(from, to)) expect(fps.get(c.seq), `seq ${c.seq}`).toBe(c.fp);
    expect(f.sources.log).toBe(0);
  };
  expect(from).toBe(before);
  // Its end beyond the outbox's head: not proven, the outbox feeds.
  await expectOutbox(await stamped(3));
  // Its end within the head, another change there: refused.
  await expectOutbox(await stamped(5));
  expect(f.onLog).toBe(false);
  // The leader's new stream of this history: the log again.
  const next = await l.openEpoch();
  await l.append(next, await logged(0));
  await waitFor('the feed to take the new stream', () => f.onLog, 30_000);
  const to = await stamped(20);
  await l.append(next, await logged(to - 20));
  await waitFor('the feed to reach the new head', () => f.position === to, 30_000);
  expect(seqs).toEqual(range(from, to));
  expect(f.sources.log).toBeGreaterThan(0);
});

test('Redis flushed (FLUSHALL): the outbox feeds; a new stream: the log again', async () => {
  const l = await changeLog();
  const key = (await l.current()) ?? (await l.openEpoch());
  await l.append(key, await logged((await l.lastOf(key))?.seq ?? 0));
  const { f, seqs, from } = await feed(l);
  await waitFor('the feed to take the log', () => f.onLog, 10_000);
  // Every key gone, Redis still answering: no current stream to follow.
  const admin = createClient({ url: redis.url });
  await admin.connect();
  try {
    await admin.flushAll();
  } finally {
    await admin.close();
  }
  await waitFor('the feed to leave the log', () => !f.onLog, 10_000);
  const mid = await stamped(25);
  await waitFor('the feed to reach the head from the outbox', () => f.position === mid, 30_000);
  // As a leader refills it: a new history, from the outbox.
  const fresh = await l.openEpoch();
  await l.append(fresh, await logged(0, mid));
  await waitFor('the feed to take the log again', () => f.onLog, 30_000);
  const before = f.sources.log;
  const to = await stamped(25);
  await l.append(fresh, await logged(mid));
  await waitFor('the feed to reach the head', () => f.position === to, 30_000);
  expect(seqs).toEqual(range(from, to));
  expect(f.sources.log).toBeGreaterThan(before);
});
