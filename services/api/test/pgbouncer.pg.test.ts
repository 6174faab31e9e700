// `npm start` behind a real PgBouncer in transaction mode, as deployed: DATABASE_URL and the
// API's and gateway's login roles through the pooler, DATABASE_URL_DIRECT (migrations,
// LISTEN, replication, the leader's lock) to Postgres itself. Every guarantee holds through
// it: sign-in, an idempotent retry, If-Match, a list's cursor handoff, live changes, a
// revocation, and the statement timeout, which no startup parameter carries any more.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import pg from 'pg';
import { useTestDatabase, testLoginEnv } from '@realtime/db/testing';
import { PROTOCOL_VERSION, unbatch, type ChangeEvent, type ClientToServerEvents, type ResyncEvent, type ServerToClientEvents } from '@realtime/protocol';
import { waitFor } from '@realtime/gateway/test-helpers';
import { addUser, realtimeToken, signIn, startApp, type RunningApp } from './spawn';
import { startPgBouncer, type PgBouncer } from './pgbouncer';

const fx = useTestDatabase();
const TIMEOUT_MS = 1500;
let bouncer: PgBouncer;
let app: RunningApp;

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
interface Stream {
  socket: Client;
  changes: ChangeEvent[];
  resyncs: ResyncEvent[];
}

async function stream(session: { cookie: string }): Promise<Stream> {
  const token = await realtimeToken(app.base, session);
  const socket: Client = io(app.base, { path: '/ws', transports: ['websocket'], auth: { token, v: PROTOCOL_VERSION }, reconnection: false, forceNew: true });
  const s: Stream = { socket, changes: [], resyncs: [] };
  socket.on('changes', (b) => s.changes.push(...unbatch(b)));
  socket.on('resync', (e) => s.resyncs.push(e));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return s;
}

async function call(method: string, path: string, session: { cookie: string }, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${app.base}${path}`, {
    method,
    // As the app does: a POST, PUT or PATCH always says it is JSON, with or without a body.
    headers: { ...(body === undefined && (method === 'GET' || method === 'DELETE') ? {} : { 'content-type': 'application/json' }), ...session, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, etag: res.headers.get('etag'), body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  // The owner and each login role (testLoginEnv's names and passwords) may log in through it.
  bouncer = await startPgBouncer(fx.db.url, [fx.db.url, ...Object.values(testLoginEnv(fx.db.url))]);
  app = await startApp(bouncer.pooled(fx.db.url), { DATABASE_URL_DIRECT: fx.db.url, STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS) });
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await bouncer?.stop();
});

test('npm start comes up healthy with its pooled URLs through PgBouncer, which carries their traffic', async () => {
  const env = testLoginEnv(bouncer.pooled(fx.db.url));
  const health = await waitFor('healthy', async () => {
    const res = await fetch(`${app.base}/healthz`);
    return res.status === 200 ? res.json() : null;
  });
  expect(health).toEqual({ status: 'ok' });
  // The pooled URLs lead through PgBouncer: it logged the login roles in.
  for (const variable of ['DATABASE_URL_API', 'DATABASE_URL_GATEWAY'] as const) {
    expect(bouncer.log()).toContain(`user=${decodeURIComponent(new URL(env[variable]!).username)}`);
  }
  expect(bouncer.log()).not.toMatch(/unsupported startup parameter/);
  expect(app.output()).not.toMatch(/unsupported startup parameter|statement_timeout .* from before/);
});

test('with DATABASE_URL alone through PgBouncer it comes up healthy; a URL adding a startup parameter stops it, naming the variable, the parameter and the fix', async () => {
  // The owner for every part, as a first deployment might run it (the process warns about that).
  const alone = { DATABASE_URL_DIRECT: fx.db.url, DATABASE_URL_API: '', DATABASE_URL_GATEWAY: '', DATABASE_URL_REPLICATOR: '', REPLICATOR: '0' };
  const owner = await startApp(bouncer.pooled(fx.db.url), alone);
  try {
    const health = await waitFor('healthy', async () => {
      const res = await fetch(`${owner.base}/healthz`);
      return res.status === 200 ? res.json() : null;
    });
    expect(health).toEqual({ status: 'ok' });
  } finally {
    await owner.stop();
  }
  const withOptions = new URL(bouncer.pooled(fx.db.url));
  withOptions.searchParams.set('options', '-c work_mem=4MB');
  const refused = await startApp(withOptions.toString(), alone).then(
    async (started) => {
      await started.stop();
      return null;
    },
    (err: Error) => err.message,
  );
  expect(refused).toMatch(/DATABASE_URL leads to a server that refuses the startup parameter "options"/);
  expect(refused).toMatch(/Remove options from DATABASE_URL's query string/);
  expect(refused).toMatch(/ignore_startup_parameters/);
}, 120_000);

test('sign-in, an idempotent retry, a stale If-Match, a list\'s cursor handoff and live changes', async () => {
  await addUser(fx.pool, 'alice@example.com', 'alice-password-123');
  const alice = await signIn(app.base, 'alice@example.com', 'alice-password-123');
  const me = await call('GET', '/api/auth/me', alice);
  expect(me.status).toBe(200);

  // A write retried with its Idempotency-Key is answered again, applied once.
  const key = 'pgbouncer-create-1';
  const first = await call('POST', '/api/projects', alice, { name: 'pooled' }, { 'idempotency-key': key });
  const retry = await call('POST', '/api/projects', alice, { name: 'pooled' }, { 'idempotency-key': key });
  expect(first.status).toBe(201);
  expect(retry).toEqual(first);
  const id = first.body.id as string;
  const { rows: inserts } = await fx.pool.query(`SELECT count(*)::int AS n FROM change_outbox WHERE row_id = $1 AND op = 'INSERT' AND table_name = 'projects'`, [id]);
  expect(inserts).toEqual([{ n: 1 }]);

  // The list and its cursor; then a change the list does not hold, made before subscribing.
  const list = await call('GET', '/api/projects', alice);
  expect(list.status).toBe(200);
  expect(list.body.items.map((p: { id: string }) => p.id)).toContain(id);
  const renamed = await call('PATCH', `/api/projects/${id}`, alice, { name: 'after the list' }, { 'if-match': first.etag! });
  expect(renamed.status).toBe(200);
  // A write against the version before it is refused, not applied.
  const stale = await call('PATCH', `/api/projects/${id}`, alice, { name: 'stale' }, { 'if-match': first.etag! });
  expect(stale.status).toBe(409);

  const s = await stream(alice);
  try {
    const ack = await s.socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects', cursor: list.body.cursor });
    expect(ack).toMatchObject({ ok: true });
    // Exactly the change the list missed: not the INSERT it holds, and the rename once.
    await waitFor('the change made after the list', () => s.changes.some((c) => c.row?.id === id && c.row?.name === 'after the list'));
    const live = await call('PATCH', `/api/projects/${id}`, alice, { name: 'live' }, { 'if-match': renamed.etag! });
    expect(live.status).toBe(200);
    await waitFor('the live change', () => s.changes.some((c) => c.row?.id === id && c.row?.name === 'live'));
    expect(s.changes.filter((c) => c.row?.id === id).map((c) => [c.op, c.row?.name])).toEqual([
      ['UPDATE', 'after the list'],
      ['UPDATE', 'live'],
    ]);
    expect(s.resyncs).toEqual([]);
  } finally {
    s.socket.disconnect();
  }
});

test('a revocation: the member\'s subscription resyncs, later changes do not reach it, and the refetch leaves the project out', async () => {
  await addUser(fx.pool, 'owner@example.com', 'owner-password-123');
  const bobId = await addUser(fx.pool, 'bob@example.com', 'bob-password-1234');
  const owner = await signIn(app.base, 'owner@example.com', 'owner-password-123');
  const bob = await signIn(app.base, 'bob@example.com', 'bob-password-1234');
  const made = await call('POST', '/api/projects', owner, { name: 'shared' });
  const id = made.body.id as string;
  // Bob joins as people do: invited, then accepting.
  const invited = await call('POST', `/api/projects/${id}/invitations`, owner, { email: 'bob@example.com', role: 'viewer' });
  expect(invited.status).toBe(201);
  expect((await call('POST', `/api/invitations/${invited.body.id as string}/accept`, bob)).status).toBe(201);

  const s = await stream(bob);
  try {
    // Once the stream has reached bob's grant, a subscription to the project is his to open.
    const ack = await waitFor('the grant streamed', async () => {
      const a = await s.socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects', filter: { id } });
      return a.ok ? a : null;
    });
    const seen = await call('PATCH', `/api/projects/${id}`, owner, { name: 'seen by bob' });
    await waitFor('bob to see the change', () => s.changes.some((c) => c.row?.id === id && c.row?.name === 'seen by bob'));

    expect((await call('DELETE', `/api/projects/${id}/members/${bobId}`, owner)).status).toBe(204);
    await waitFor('the revocation to resync bob', () => s.resyncs.some((r) => r.sub === ack.id && r.reason === 'membership'));
    // The project is no longer his to subscribe to.
    const refused = await s.socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects', filter: { id } });
    expect(refused.ok).toBe(false);
    // A project of his own, streamed to him; then, on a subscription to every project he may
    // read, a change to the revoked one before a change to his: once his arrived, the other
    // would have too.
    const mine = await call('POST', '/api/projects', bob, { name: 'bob\'s marker' });
    await waitFor('bob\'s own project streamed', async () => (await s.socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects', filter: { id: mine.body.id } })).ok);
    const all = await s.socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects' });
    expect(all.ok).toBe(true);
    expect((await call('PATCH', `/api/projects/${id}`, owner, { name: 'not for bob' }, { 'if-match': `"${seen.body.version}"` })).status).toBe(200);
    expect((await call('PATCH', `/api/projects/${mine.body.id}`, bob, { name: 'bob\'s marker, renamed' })).status).toBe(200);
    await waitFor('bob\'s own change', () => s.changes.some((c) => all.ok && c.sub === all.id && c.row?.name === 'bob\'s marker, renamed'));
    expect(s.changes.filter((c) => c.row?.id === id || c.old?.id === id).map((c) => c.row?.name ?? null)).toEqual(['seen by bob']);
    const refetched = await call('GET', '/api/projects', bob);
    expect(refetched.body.items.map((p: { id: string }) => p.id)).toEqual([mine.body.id]);
  } finally {
    s.socket.disconnect();
  }
});

test('STATEMENT_TIMEOUT_MS holds through the pooler: a statement held behind a row lock answers 500 once it has passed', async () => {
  await addUser(fx.pool, 'slow@example.com', 'slow-password-123');
  const slow = await signIn(app.base, 'slow@example.com', 'slow-password-123');
  const id = (await call('POST', '/api/projects', slow, { name: 'locked' })).body.id as string;
  // The login role carries it (the owner wrote it when it migrated), not the connection.
  const apiRole = decodeURIComponent(new URL(testLoginEnv(fx.db.url).DATABASE_URL_API!).username);
  const { rows } = await fx.pool.query<{ setconfig: string[] }>(
    `SELECT setconfig FROM pg_db_role_setting WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = $1) AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [apiRole],
  );
  expect(rows).toEqual([{ setconfig: [`statement_timeout=${TIMEOUT_MS}ms`] }]);

  const locker = new pg.Client({ connectionString: fx.db.url });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM projects WHERE id = $1 FOR UPDATE', [id]);
    const started = Date.now();
    const res = await call('PATCH', `/api/projects/${id}`, slow, { name: 'waits' });
    const took = Date.now() - started;
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('INTERNAL');
    // Cut by the timeout, not answered before it nor left waiting for the lock.
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(took).toBeLessThan(TIMEOUT_MS + 8000);
    await locker.query('ROLLBACK');
  } finally {
    await locker.end();
  }
  await waitFor('the log to name the timeout', () => /canceling statement due to statement timeout/.test(app.output()));
  // The lock gone, the same write goes through.
  expect((await call('PATCH', `/api/projects/${id}`, slow, { name: 'went through' })).status).toBe(200);
});
