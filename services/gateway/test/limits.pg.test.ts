// What one client may cost (contract item 10): each cap refused with the code that names
// it and counted in /metrics by name; a page of a foreign site cannot open a socket;
// replays take turns and still deliver every change once; a replay of one project reads
// that project's rows through the index, not the whole outbox. Real Postgres, gateway and
// socket.io-client.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import client from 'prom-client';
import { io } from 'socket.io-client';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { PROTOCOL_VERSION } from '@realtime/protocol';
import { signUserToken } from '@realtime/auth';
import { pageQuery, type PageQuery } from '../src/replay/reader';
import { Received, connect, expectedSeqs, newProject, secret, startGateway, token, useStack, waitFor, type GatewayHandle } from './helpers';

const stack = useStack();
let gw: GatewayHandle;

async function limitHits(limit: string): Promise<number> {
  const m = (await client.register.getSingleMetric('realtime_limit_hits_total')?.get())?.values ?? [];
  return m.find((v) => v.labels.limit === limit)?.value ?? 0;
}

async function addUser(email: string): Promise<string> {
  return (await stack.pool.query<{ id: string }>(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [email])).rows[0]!.id;
}

/** The error a refused handshake reports, or null when it connected. */
async function handshake(opts: { token: string; origin?: string; v?: unknown }): Promise<{ message: string; code?: string } | null> {
  const socket = io(`http://127.0.0.1:${gw.port}`, {
    path: '/ws',
    transports: ['websocket'],
    auth: { token: opts.token, v: 'v' in opts ? opts.v : PROTOCOL_VERSION },
    reconnection: false,
    forceNew: true,
    ...(opts.origin ? { extraHeaders: { origin: opts.origin } } : {}),
  });
  try {
    return await new Promise((resolve) => {
      socket.once('connect', () => resolve(null));
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve({ message: err.message, code: err.data?.code }));
    });
  } finally {
    socket.disconnect();
  }
}

beforeAll(async () => {
  gw = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { maxSocketsPerUser: 2, subscribesPerSecond: 5, maxConcurrentReplays: 1, pageSize: 10 } });
});
afterAll(async () => {
  await gw?.stop();
});

describe('caps, each refused with its code', () => {
  test('MAX_SOCKETS_PER_USER: the third socket of a user is refused (TOO_MANY_SOCKETS); another user is not; a place frees when one leaves', async () => {
    const ann = await addUser('ann@example.com');
    const ben = await addUser('ben@example.com');
    const before = await limitHits('sockets_per_user');
    const a1 = await connect(gw.port, signUserToken(secret, ann, 900));
    const a2 = await connect(gw.port, signUserToken(secret, ann, 900));
    const refused = await handshake({ token: await signUserToken(secret, ann, 900) });
    expect(refused).toMatchObject({ code: 'TOO_MANY_SOCKETS' });
    expect(refused!.message).toMatch(/at most 2 connections per user \(MAX_SOCKETS_PER_USER\)/);
    expect(await handshake({ token: await signUserToken(secret, ben, 900) })).toBeNull();
    expect(await limitHits('sockets_per_user')).toBe(before + 1);
    a1.disconnect();
    await waitFor('the place to free', async () => (await handshake({ token: await signUserToken(secret, ann, 900) })) === null);
    a2.disconnect();
  });

  test('SUBSCRIBES_PER_SECOND: a burst past the rate is refused (RATE_LIMITED) without opening anything; a moment later subscribes work again', async () => {
    const socket = await connect(gw.port, token());
    try {
      const before = await limitHits('subscribes_per_second');
      const acks = await Promise.all(Array.from({ length: 8 }, () => socket.timeout(5000).emitWithAck('subscribe', { channel: 'projects' })));
      const ok = acks.filter((a) => a.ok);
      const limited = acks.filter((a) => !a.ok && a.error.code === 'RATE_LIMITED');
      expect(ok).toHaveLength(5);
      expect(limited).toHaveLength(3);
      expect(!limited[0]!.ok && limited[0]!.error.message).toMatch(/SUBSCRIBES_PER_SECOND/);
      expect(await limitHits('subscribes_per_second')).toBe(before + 3);
      expect(gw.gateway.stats().subscriptions).toBeGreaterThanOrEqual(5);
      await new Promise((r) => setTimeout(r, 1100));
      expect(await socket.timeout(5000).emitWithAck('subscribe', { channel: 'projects' })).toMatchObject({ ok: true });
    } finally {
      socket.disconnect();
    }
  });

  test('MAX_SUBSCRIPTIONS_PER_SOCKET: refused (TOO_MANY_SUBSCRIPTIONS) and counted', async () => {
    const small = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { maxSubscriptions: 2 } });
    const socket = await connect(small.port, token());
    try {
      const before = await limitHits('subscriptions_per_socket');
      for (let i = 0; i < 2; i++) expect(await socket.timeout(5000).emitWithAck('subscribe', { channel: 'projects' })).toMatchObject({ ok: true });
      const third = await socket.timeout(5000).emitWithAck('subscribe', { channel: 'projects' });
      expect(third).toMatchObject({ ok: false, error: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
      expect(await limitHits('subscriptions_per_socket')).toBe(before + 1);
    } finally {
      socket.disconnect();
      await small.stop();
    }
  });
});

describe('protocol version', () => {
  test.each([
    ['no version (a protocol 1 client)', undefined, /sent no version \(protocol 1\): update the client/],
    ['an older version', 1, /sent v: 1: update the client/],
    ['a protocol 2 client (positions without fingerprints: it would resume unchecked)', 2, /sent v: 2: update the client/],
    ['a newer version', 4, /sent v: 4/],
    ['not a number', 'two', /sent v: "two"/],
  ])('%s is refused with PROTOCOL_VERSION, saying which the gateway speaks', async (_name, v, message) => {
    const refused = await handshake({ token: await token(), v });
    expect(refused).toMatchObject({ code: 'PROTOCOL_VERSION' });
    expect(refused!.message).toMatch(/speaks realtime protocol 3/);
    expect(refused!.message).toMatch(message);
  });
});

describe('batches on the wire', () => {
  test('a transaction of 50 changes arrives in one message, in seq order; a replay of 300 with pages of 100 in 3', async () => {
    const batched = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { pageSize: 100 } });
    try {
      const p = await newProject(stack.pool, 'B');
      await stack.settled(batched);
      const live = new Received(await connect(batched.port, token()));
      await live.subscribe({ channel: 'extraction_jobs', filter: { project_id: p } });
      const c = await stack.pool.connect();
      try {
        await c.query('BEGIN');
        for (let i = 0; i < 50; i++) await c.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2)`, [p, `t${i}`]);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
      await waitFor('the transaction', () => live.changes.length === 50);
      expect(live.batches).toEqual([50]);
      const seqs = live.seqs;
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      for (let i = 0; i < 250; i++) await stack.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2)`, [p, `r${i}`]);
      await stack.settled(batched);
      const replay = new Received(await connect(batched.port, token()));
      await replay.subscribe({ channel: 'extraction_jobs', filter: { project_id: p }, since: 0 });
      await waitFor('the replay live', () => replay.lives.length > 0);
      expect(replay.seqs).toEqual(await expectedSeqs(stack.pool, 'extraction_jobs', 'project_id', p));
      expect(replay.batches).toEqual([100, 100, 100]);
      live.socket.disconnect();
      replay.socket.disconnect();
    } finally {
      await batched.stop();
    }
  });
});

describe('message size', () => {
  test('a message past 64 KB is refused by the transport, which closes that connection; others go on', async () => {
    const bystander = await connect(gw.port, token());
    const big = await connect(gw.port, token());
    try {
      const closed = new Promise<string>((resolve) => big.once('disconnect', (reason) => resolve(reason)));
      big.emit('subscribe', { channel: 'projects', filter: { name: 'x'.repeat(100 * 1024) } }, () => undefined);
      expect(await closed).toMatch(/transport (close|error)/);
      expect(await bystander.timeout(5000).emitWithAck('subscribe', { channel: 'projects' })).toMatchObject({ ok: true });
    } finally {
      bystander.disconnect();
      big.disconnect();
    }
  });
});

describe('origin', () => {
  test('a handshake from a page of another site is refused; the listed origin, the page’s own host, and clients that send no Origin are served', async () => {
    const before = await limitHits('origin');
    const foreign = await handshake({ token: await token(), origin: 'https://evil.example' });
    expect(foreign).not.toBeNull();
    expect(await limitHits('origin')).toBe(before + 1);
    expect(await handshake({ token: await token(), origin: 'http://localhost:3000' })).toBeNull();
    expect(await handshake({ token: await token(), origin: `http://127.0.0.1:${gw.port}` })).toBeNull();
    expect(await handshake({ token: await token() })).toBeNull();
    // The refusal is an HTTP 403 before any Socket.IO session exists.
    const res = await fetch(`http://127.0.0.1:${gw.port}/ws/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/ORIGIN_NOT_ALLOWED.*FRONTEND_URL/);
  });
});

describe('replays take turns', () => {
  test('with one replay at a time, 12 subscriptions replaying at once: never two running, others waiting, each gets exactly its changes, then live', async () => {
    const turns = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { maxConcurrentReplays: 1, subscribesPerSecond: 1000, pageSize: 10 } });
    const projects = [await newProject(stack.pool, 'T1'), await newProject(stack.pool, 'T2'), await newProject(stack.pool, 'T3')];
    for (const p of projects) for (let i = 0; i < 25; i++) await stack.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2)`, [p, `d${i}`]);
    await stack.settled(turns);
    const socket = await connect(turns.port, token());
    const seen = { running: 0, waiting: 0 };
    const probe = setInterval(() => {
      const s = turns.gateway.stats();
      seen.running = Math.max(seen.running, s.replaysRunning);
      seen.waiting = Math.max(seen.waiting, s.replaysWaiting);
    }, 1);
    try {
      const subs = Array.from({ length: 12 }, () => new Received(socket));
      const acks = await Promise.all(subs.map((r, i) => r.subscribe({ channel: 'extraction_jobs', since: 0, filter: { project_id: projects[i % 3]! } })));
      for (const a of acks) expect(a).toMatchObject({ ok: true });
      for (let i = 0; i < subs.length; i++) {
        const expected = await expectedSeqs(stack.pool, 'extraction_jobs', 'project_id', projects[i % 3]!);
        await waitFor(`subscription ${i} live`, () => subs[i]!.lives.length > 0);
        expect(subs[i]!.seqs).toEqual(expected);
      }
      expect(seen.running).toBe(1);
      expect(seen.waiting).toBeGreaterThan(0);
      expect(turns.gateway.stats()).toMatchObject({ replaysRunning: 0, replaysWaiting: 0 });
    } finally {
      clearInterval(probe);
      socket.disconnect();
      await turns.stop();
    }
  });

  test('a replay waiting for its turn whose socket leaves never runs', async () => {
    const turns = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { maxConcurrentReplays: 1, subscribesPerSecond: 1000, pageSize: 10 } });
    const p = await newProject(stack.pool, 'W');
    for (let i = 0; i < 40; i++) await stack.pool.query(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2)`, [p, `d${i}`]);
    await stack.settled(turns);
    try {
      const first = await connect(turns.port, token());
      const leaving = await connect(turns.port, token());
      const r = new Received(first);
      await r.subscribe({ channel: 'extraction_jobs', since: 0, filter: { project_id: p } });
      const replaysBefore = turns.gateway.stats().replays;
      await Promise.all(Array.from({ length: 5 }, () => new Received(leaving).subscribe({ channel: 'extraction_jobs', since: 0, filter: { project_id: p } })));
      leaving.disconnect();
      await waitFor('the first live', () => r.lives.length > 0);
      await waitFor('the line empty', () => turns.gateway.stats().replaysWaiting === 0 && turns.gateway.stats().replaysRunning === 0);
      expect(turns.gateway.stats().replays).toBe(replaysBefore + 5);
      first.disconnect();
    } finally {
      await turns.stop();
    }
  });
});

/** Rows a plan touched: what its scans returned and what their filters threw away. */
function rowsRead(plan: Record<string, unknown>): number {
  let n = 0;
  const visit = (node: Record<string, unknown>) => {
    const type = String(node['Node Type']);
    const loops = Number(node['Actual Loops'] ?? 1);
    if (type.includes('Scan')) n += (Number(node['Actual Rows'] ?? 0) + Number(node['Rows Removed by Filter'] ?? 0) + Number(node['Rows Removed by Index Recheck'] ?? 0)) * loops;
    for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  visit(plan);
  return n;
}

describe('a replay reads what it may send, through an index', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const target = '00000000-0000-4000-8000-00000000aaaa';
  beforeAll(async () => {
    // A database of its own: 100,000 stamped changes of 100 other projects, written as the
    // outbox holds them, plus a few of the target project.
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await pool.query(
      `INSERT INTO change_outbox (seq, table_name, op, row_id, new_row, txid, db_user, project_id, row_bytes, committed_at)
       SELECT g, 'extraction_jobs', 'INSERT', g::text, jsonb_build_object('id', g::text, 'project_id', p, 'document_name', 'doc'), pg_current_xact_id(), 'test', p, 80, now()
       FROM generate_series(1, 100000) g, LATERAL (SELECT format('00000000-0000-4000-8000-%s', lpad((g % 100)::text, 12, '0')) AS p) x`,
    );
    await pool.query(
      `INSERT INTO change_outbox (seq, table_name, op, row_id, new_row, txid, db_user, project_id, row_bytes, committed_at)
       SELECT 100000 + g, 'extraction_jobs', 'INSERT', 't' || g, jsonb_build_object('id', 't' || g, 'project_id', $1::text), pg_current_xact_id(), 'test', $1, 80, now()
       FROM generate_series(1, 5) g`,
      [target],
    );
    await pool.query('ANALYZE change_outbox');
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  async function explain(q: PageQuery): Promise<{ read: number; rows: number }> {
    const { text, values } = pageQuery(q);
    const { rows } = await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
    const plan = (rows[0]['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan;
    const result = await pool.query(text, values);
    return { read: rowsRead(plan), rows: result.rowCount ?? 0 };
  }

  const q = (over: Partial<PageQuery>): PageQuery => ({ channel: 'extraction_jobs', after: 0, upTo: 100_005, limit: 1000, maxBytes: 1 << 20, projects: null, projectColumn: 'project_id', ...over });

  test('a project filter that matches nothing reads a bounded number of rows out of 100,000', async () => {
    const none = await explain(q({ projects: ['00000000-0000-4000-8000-0000000fffff'], filter: { project_id: '00000000-0000-4000-8000-0000000fffff' } }));
    process.stdout.write(`rows read by a replay matching nothing: ${none.read} of 100,005\n`);
    expect(none.rows).toBe(0);
    expect(none.read).toBeLessThan(50);
  });

  test('the target project: its 5 rows, reading about that many', async () => {
    const five = await explain(q({ projects: [target] }));
    expect(five.rows).toBe(5);
    expect(five.read).toBeLessThan(50);
  });

  test('a user granted a few projects, without a filter: only their rows', async () => {
    const few = await explain(q({ projects: [target, '00000000-0000-4000-8000-0000000fffff'], limit: 10 }));
    expect(few.rows).toBe(5);
    expect(few.read).toBeLessThan(50);
  });

  test('the same filter compared in jsonb (the way replay read before) reads the whole outbox: the measure can tell', async () => {
    const scan = await explain(q({ projects: null, projectColumn: null, filter: { project_id: '00000000-0000-4000-8000-0000000fffff' } }));
    process.stdout.write(`rows read comparing jsonb: ${scan.read}\n`);
    expect(scan.rows).toBe(0);
    expect(scan.read).toBeGreaterThanOrEqual(100_000);
  });

  test('pages are cut by bytes: 1,000 rows of 80 bytes under a 4,000-byte budget is 50 rows', async () => {
    const page = await explain(q({ projects: null, maxBytes: 4000 }));
    expect(page.rows).toBe(50);
  });
});
