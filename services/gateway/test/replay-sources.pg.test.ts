// Replay pages from the ring of recent feed batches, the shared change log (a real
// redis-server) and the outbox: for the same resumes (filtered by project, by another
// column, by a grant, unfiltered; moves and deletes among the missed changes) each
// source delivers exactly the events the outbox does, in the same order, and the source
// counters and the outbox reads say which one served. A stream that starts after the
// position, a stream of another history (as one left from before a restore), and a
// Redis killed in the middle of a replay, leave the outbox to fill in.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ChangeLog, type LogChange } from '@realtime/changelog';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { startRedis, waitFor, type RunningRedis } from '@realtime/testkit';
import type { Filter } from '@realtime/protocol';
import type { Replicator } from '@realtime/replicator';
import { COMMITTED_AT_ISO, FP_INPUT, toFeedChange } from '../src/feed';
import type { ReplayLog } from '../src/replay/sources';
import { PageBuilder, pickedBySql } from '../src/replay/pick';
import { readPage, type PageQuery } from '../src/replay/reader';
import { Received, connect, expectedSeqs, log, positionAt, startGateway, startReplicator, token, type Client, type GatewayHandle, type GatewayStartOptions } from './helpers';

let db: TestDatabase;
let pool: pg.Pool;
let redis: RunningRedis;
let replicator: Replicator;
let changeLog: ChangeLog;
let A: string, B: string, C: string;
/** The position every resume starts from, and the head after the missed changes. */
let since: { since: number; fp?: string };
let head: number;
/** Gateways started before the missed changes: their rings saw them. */
let gwRing: GatewayHandle, gwTail: GatewayHandle;
const gateways: GatewayHandle[] = [];
const clients: Client[] = [];
/** Page statements (the outbox's replay reads) by gateway port. */
const pageReads = new Map<number, number>();
/** Counts of a replay range's outbox rows, by gateway port. */
const rangeCounts = new Map<number, number>();

const PAGE = { pageSize: 7 };

async function gateway(opts: GatewayStartOptions): Promise<GatewayHandle> {
  let port = 0;
  const g = await startGateway(db.url, {
    replicator,
    limits: PAGE,
    ...opts,
    onQuery: (sql) => {
      if (sql.includes('WITH picked AS')) pageReads.set(port, (pageReads.get(port) ?? 0) + 1);
      if (/count\(\*\)( AS n)? FROM change_outbox WHERE seq > \$\d AND seq <= \$\d/.test(sql)) rangeCounts.set(port, (rangeCounts.get(port) ?? 0) + 1);
    },
  });
  port = g.port;
  gateways.push(g);
  return g;
}

const outboxHead = async () => Number((await pool.query<{ h: string | null }>(`SELECT max(seq) AS h FROM change_outbox`)).rows[0]!.h ?? 0);

/** Every change stamped, and each given gateway's feed at it. */
async function settled(...gws: GatewayHandle[]): Promise<number> {
  return waitFor(
    'every change stamped and fed',
    async () => {
      const { rows } = await pool.query<{ h: number; u: number }>(`SELECT coalesce(max(seq), 0)::int AS h, count(*) FILTER (WHERE seq IS NULL)::int AS u FROM change_outbox`);
      const r = rows[0]!;
      return r.u === 0 && r.h > 0 && gws.every((g) => g.feed.position === r.h) ? r.h : null;
    },
    60_000,
  );
}

/** The stamped rows in (after, upTo] as the log holds them. */
async function logged(after: number, upTo: number): Promise<LogChange[]> {
  const { rows } = await pool.query(
    `SELECT seq, table_name, op, new_row, old_row, txid::text AS txid, ${COMMITTED_AT_ISO} AS committed_at, row_bytes, ${FP_INPUT} AS fp_input
       FROM change_outbox WHERE seq > $1 AND seq <= $2 ORDER BY seq`,
    [after, upTo],
  );
  return rows.map(toFeedChange);
}

/** Appends (after, upTo] to the stream `key` of `l`, as the replicator's leader would. */
async function appendTo(l: ChangeLog, key: string, after: number, upTo: number): Promise<void> {
  const changes = await logged(after, upTo);
  for (let i = 0; i < changes.length; i += 50) {
    const r = await l.append(key, changes.slice(i, i + 50));
    expect(r.gapAfter).toBeNull();
  }
}

async function job(project: string, name: string): Promise<string> {
  return (await pool.query<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2) RETURNING id`, [project, name])).rows[0]!.id;
}

interface Resume {
  name: string;
  grant?: { channels: string[]; projects: string[] };
  filter?: Filter;
}

/** The subscriptions every gateway replays: unfiltered, by project, by another column, by a grant of two projects. */
const resumes = (): Resume[] => [
  { name: 'unfiltered' },
  { name: 'project A', filter: { projectId: A } },
  { name: 'project B', filter: { project_id: B } },
  { name: 'status processing', filter: { status: 'processing' } },
  { name: 'grant A and C', grant: { channels: ['*'], projects: [A, C] } },
];

type Delivered = Record<string, { seq: number; op: string; row: unknown; old: unknown; committedAt: string; fp?: string | undefined; txid?: string | undefined }[]>;

/** Each subscription resumed from `since` on `gw`, until `live`: what it received, in order. */
async function replayAll(gw: GatewayHandle, which = resumes()): Promise<Delivered> {
  const out: Delivered = {};
  for (const r of which) {
    const socket = await connect(gw.port, token(r.grant));
    clients.push(socket);
    const got = new Received(socket);
    const ack = await got.subscribe({ channel: 'extraction_jobs', ...(r.filter ? { filter: r.filter } : {}), ...since });
    expect(ack.ok, `${r.name}: ${JSON.stringify(ack)}`).toBe(true);
    await waitFor(`${r.name} to go live`, () => got.lives.length > 0 || got.resyncs.length > 0, 60_000);
    expect(got.resyncs, r.name).toEqual([]);
    out[r.name] = got.changes.map((c) => ({ seq: c.seq, op: c.op, row: c.row, old: c.old, committedAt: c.committedAt, fp: c.fp, txid: c.txid }));
    socket.disconnect();
  }
  return out;
}

const sources = (gw: GatewayHandle) => gw.gateway.stats().replaySources;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  pool.on('error', () => undefined);
  redis = await startRedis();
  replicator = startReplicator(db.url);
  await replicator.start();
  await waitFor('the replicator to lead', () => replicator.status().role === 'leader', 60_000);
  changeLog = new ChangeLog({ url: redis.url, retention: { maxLen: 100_000 }, log });
  await changeLog.connect();
  const key = await changeLog.openEpoch();
  [A, B, C] = await Promise.all(['A', 'B', 'C'].map(async (n) => (await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [n])).rows[0]!.id)) as [string, string, string];
  const before = [await job(A, 'a0.pdf'), await job(A, 'a1.pdf'), await job(B, 'b0.pdf'), await job(B, 'b1.pdf')];

  // Up before the changes the clients miss: their rings hold them (the second's only the last 40).
  gwRing = await gateway({ ring: { changes: 100_000, bytes: 1 << 30 }, replayLog: changeLog });
  gwTail = await gateway({ ring: { changes: 40, bytes: 1 << 30 }, replayLog: changeLog });
  since = await positionAt(pool, await settled(gwRing, gwTail));

  // What the clients miss: inserts in three projects, progress, moves both ways and to a
  // third project, deletes (one of a moved row), and another table's changes in between.
  const inA: string[] = [];
  const inB: string[] = [];
  for (let i = 0; i < 15; i++) {
    inA.push(await job(A, `a${i}.pdf`));
    inB.push(await job(B, `b${i}.pdf`));
    if (i % 5 === 0) await job(C, `c${i}.pdf`);
  }
  await pool.query(`UPDATE extraction_jobs SET status = 'processing', progress = 10 WHERE id = ANY($1::uuid[])`, [[...inA.slice(0, 6), ...inB.slice(0, 3), before[0]]]);
  await pool.query(`INSERT INTO projects (name) VALUES ('D')`);
  for (const id of inA.slice(0, 3)) await pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = $2`, [B, id]);
  for (const id of inB.slice(5, 7)) await pool.query(`UPDATE extraction_jobs SET project_id = $1, status = 'processing' WHERE id = $2`, [A, id]);
  await pool.query(`UPDATE extraction_jobs SET project_id = $1 WHERE id = $2`, [C, inA[4]]);
  await pool.query(`DELETE FROM extraction_jobs WHERE id = ANY($1::uuid[])`, [[inA[0], inA[7], inA[8], inB[6], inB[10], before[2]]]);
  for (const id of inA.slice(9, 12)) await pool.query(`UPDATE extraction_jobs SET progress = 50 WHERE id = $1`, [id]);
  head = await settled(gwRing, gwTail);
  await appendTo(changeLog, key, 0, head);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const g of gateways.reverse()) await g.stop();
  await changeLog?.close();
  await replicator?.stop();
  await redis?.stop();
  await pool?.end();
  await db?.drop();
});

test('page by page, the in-memory picker and the outbox page query agree on real rows', async () => {
  const all = await logged(0, head);
  const base = { channel: 'extraction_jobs', upTo: head, limit: 5, maxBytes: 1 << 20, projectColumn: 'project_id' };
  const queries: [string, Omit<PageQuery, 'after'>][] = [
    ['every project', { ...base, projects: null }],
    ['one project (moves out by moved_from)', { ...base, projects: [A] }],
    ['several projects', { ...base, projects: [B, C] }],
    ['a project nobody wrote to', { ...base, projects: ['00000000-0000-0000-0000-000000000000'] }],
    ['a filter on the project column with its project', { ...base, projects: [B], filter: { project_id: B } }],
    ['another column', { ...base, projects: null, filter: { status: 'processing' } }],
    ['a number compared as text', { ...base, projects: null, filter: { progress: 50 } }],
    ['a column and a project', { ...base, projects: [A], filter: { status: 'processing' } }],
    ['a null filter value', { ...base, projects: null, filter: { status: null } }],
    ['another channel', { ...base, channel: 'projects', projects: null, projectColumn: 'id' }],
    ['an upper bound inside the range', { ...base, projects: null, upTo: since.since + 20 }],
    ['the byte budget cuts pages', { ...base, projects: null, limit: 100, maxBytes: 900 }],
  ];
  for (const [name, q] of queries) {
    const viaSql: number[][] = [];
    const inMemory: number[][] = [];
    for (let after = 0, more = true; more; ) {
      const page = await readPage(pool, { ...q, after });
      viaSql.push(page.changes.map((c) => c.seq));
      more = page.more && page.changes.length > 0;
      if (more) after = page.changes.at(-1)!.seq;
    }
    for (let after = 0, more = true; more; ) {
      const b = new PageBuilder({ ...q, after }, (c) => pickedBySql(c, q));
      for (const c of all.slice(after)) if (!b.offer(c)) break;
      const page = b.page();
      if (page.changes.length > 0 || inMemory.length === 0) inMemory.push(page.changes.map((c) => c.seq));
      more = page.more;
      after = page.through;
    }
    // The SQL may end on an empty page where memory knew it was done: pages with changes agree.
    expect(inMemory.filter((p) => p.length > 0), name).toEqual(viaSql.filter((p) => p.length > 0));
    expect(viaSql.flat().length, name).toBe(all.filter((c) => pickedBySql(c, q)).filter((c) => c.seq <= q.upTo).length);
  }
});

let fromOutbox: Delivered;

test('the outbox path: the reference every other source is held to', async () => {
  const gwPg = await gateway({ ring: { changes: 100_000, bytes: 1 << 30 } });
  fromOutbox = await replayAll(gwPg);
  // The oracle of the unfiltered resume: every missed change of the table, in order.
  expect(fromOutbox['unfiltered']!.map((c) => c.seq)).toEqual((await expectedSeqs(pool, 'extraction_jobs')).filter((s) => s > since.since));
  const ops = (name: string) => new Set(fromOutbox[name]!.map((c) => c.op));
  // Moves out of a project arrive as DELETEs, moves in as INSERTs; deletes are there too.
  for (const name of ['project A', 'project B', 'grant A and C']) expect(ops(name), name).toEqual(new Set(['INSERT', 'UPDATE', 'DELETE']));
  for (const [name, got] of Object.entries(fromOutbox)) expect(got.length, name).toBeGreaterThan(0);
  expect(sources(gwPg)).toEqual({ ring: 0, redis: 0, postgres: expect.any(Number) });
  expect(sources(gwPg).postgres).toBeGreaterThan(Object.keys(fromOutbox).length);
  expect(pageReads.get(gwPg.port)).toBe(sources(gwPg).postgres);
  // Its ring could have served: each replay counted its range once, before its first outbox page.
  expect(rangeCounts.get(gwPg.port)).toBe(Object.keys(fromOutbox).length);
});

test('from the ring: the same events in the same order, and no outbox row read', async () => {
  expect(gwRing.feed.position).toBe(head);
  expect(await replayAll(gwRing)).toEqual(fromOutbox);
  expect(sources(gwRing).ring).toBeGreaterThan(Object.keys(fromOutbox).length);
  expect(sources(gwRing)).toMatchObject({ redis: 0, postgres: 0 });
  expect(pageReads.get(gwRing.port) ?? 0).toBe(0);
});

test('from Redis, on a fresh gateway (its ring empty): the same events, no outbox row read', async () => {
  const gwRedis = await gateway({ ring: { changes: 100_000, bytes: 1 << 30 }, replayLog: changeLog });
  expect(await replayAll(gwRedis)).toEqual(fromOutbox);
  expect(sources(gwRedis).redis).toBeGreaterThan(Object.keys(fromOutbox).length);
  expect(sources(gwRedis)).toMatchObject({ ring: 0, postgres: 0 });
  expect(pageReads.get(gwRedis.port) ?? 0).toBe(0);
  expect(rangeCounts.get(gwRedis.port) ?? 0).toBe(0);
});

test('a ring holding only the tail: Redis up to it, then the ring, page by page', async () => {
  expect(gwTail.feed.position).toBe(head);
  expect(await replayAll(gwTail)).toEqual(fromOutbox);
  const s = sources(gwTail);
  expect(s.redis).toBeGreaterThan(0);
  expect(s.ring).toBeGreaterThan(0);
  expect(s.postgres).toBe(0);
  expect(pageReads.get(gwTail.port) ?? 0).toBe(0);
});

test("a since older than the stream's first seq: the outbox up to the stream, then the stream", async () => {
  // A stream of a new epoch that starts 15 seqs after the position (as after a trim).
  const trimmed = new ChangeLog({ url: redis.url, retention: { maxLen: 100_000 }, log });
  await trimmed.connect();
  try {
    const key = await trimmed.openEpoch();
    await appendTo(trimmed, key, since.since + 15, head);
    expect(await trimmed.firstSeq(key)).toBe(since.since + 16);
    const gw = await gateway({ replayLog: trimmed });
    expect(await replayAll(gw)).toEqual(fromOutbox);
    const s = sources(gw);
    expect(s.postgres).toBeGreaterThanOrEqual(Object.keys(fromOutbox).length);
    expect(s.redis).toBeGreaterThan(0);
    expect(pageReads.get(gw.port)).toBe(s.postgres);
  } finally {
    await trimmed.close();
  }
});

test('Redis killed during a replay: the replay completes from the outbox, nothing lost or doubled', async () => {
  const own = await startRedis();
  const l = new ChangeLog({ url: own.url, retention: { maxLen: 100_000 }, log });
  await l.connect();
  try {
    await appendTo(l, await l.openEpoch(), 0, head);
    // Redis dies as the replay asks for its third run (after the look at the head that
    // anchors the stream): the first pages came from it.
    let ranges = 0;
    const dying: ReplayLog = {
      current: () => l.current(),
      range: async (key, after, count) => {
        if (++ranges === 4) await own.kill();
        return l.range(key, after, count);
      },
    };
    const gw = await gateway({ replayLog: dying });
    const got = await replayAll(gw, resumes().filter((r) => r.name === 'unfiltered'));
    expect(own.running).toBe(false);
    expect(got['unfiltered']).toEqual(fromOutbox['unfiltered']);
    const seqs = got['unfiltered']!.map((c) => c.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(sources(gw).redis).toBe(2);
    expect(sources(gw).postgres).toBeGreaterThan(0);
    expect(pageReads.get(gw.port)).toBe(sources(gw).postgres);
  } finally {
    await l.close();
    await own.stop();
  }
});

test("a stream of another history (left from before a restore): the outbox serves, none of the stream's changes", async () => {
  // The same seqs, but from 5 after the position on the changes of another history: other
  // rows, other fingerprints, as a stream the restore's lost changes went to.
  const other = new ChangeLog({ url: redis.url, retention: { maxLen: 100_000 }, log });
  await other.connect();
  try {
    const key = await other.openEpoch();
    const lost = (await logged(0, head)).map((c) =>
      c.seq <= since.since + 5 ? c : { ...c, fp: `lost${c.seq}`, newRow: c.newRow ? { ...c.newRow, document_name: `lost-${c.seq}.pdf` } : null },
    );
    for (let i = 0; i < lost.length; i += 50) expect((await other.append(key, lost.slice(i, i + 50))).gapAfter).toBeNull();
    const gw = await gateway({ replayLog: other });
    expect(await replayAll(gw)).toEqual(fromOutbox);
    expect(sources(gw)).toMatchObject({ ring: 0, redis: 0 });
    expect(pageReads.get(gw.port)).toBe(sources(gw).postgres);
    // The control: the stream as the outbox has it serves the same replays.
    const same = await other.openEpoch();
    await appendTo(other, same, 0, head);
    const gw2 = await gateway({ replayLog: other });
    expect(await replayAll(gw2)).toEqual(fromOutbox);
    expect(sources(gw2)).toMatchObject({ ring: 0, postgres: 0 });
  } finally {
    await other.close();
  }
});

// Last: it removes an outbox row that the tests above replay.
test('a row of the range removed by hand: the change log, which holds it, serves the replay whole; the outbox, which lacks it, answers history-changed', async () => {
  // A whole stream again (the tests before pointed `current` at others), written before the row goes.
  await appendTo(changeLog, await changeLog.openEpoch(), 0, head);
  const c = await pool.connect();
  try {
    await c.query(`SET session_replication_role = replica`);
    await c.query(`DELETE FROM change_outbox WHERE seq = $1`, [since.since + 3]);
  } finally {
    await c.query(`RESET session_replication_role`);
    c.release();
  }
  const unfiltered = resumes().filter((r) => r.name === 'unfiltered');
  const gwRedis = await gateway({ replayLog: changeLog });
  expect(await replayAll(gwRedis, unfiltered)).toEqual({ unfiltered: fromOutbox['unfiltered'] });
  expect(sources(gwRedis).postgres).toBe(0);
  expect(rangeCounts.get(gwRedis.port) ?? 0).toBe(0);

  for (const gw of [await gateway({ ring: { changes: 100_000, bytes: 1 << 30 } }), await gateway({})]) {
    const socket = await connect(gw.port, token());
    clients.push(socket);
    const got = new Received(socket);
    expect((await got.subscribe({ channel: 'extraction_jobs', ...since })).ok).toBe(true);
    await waitFor('a resync', () => got.resyncs.length > 0 || got.lives.length > 0, 30_000);
    expect(got.resyncs.map((r) => r.reason)).toEqual(['history-changed']);
    expect(got.changes).toEqual([]);
    expect(pageReads.get(gw.port) ?? 0).toBe(0);
    expect(rangeCounts.get(gw.port)).toBe(1);
  }
});
