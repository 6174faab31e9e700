// A session's end reaches the stream like a revocation does: sign-out, sign-out
// everywhere, a password reset (`npm run users -- reset-password`) and a removed user
// close the sockets of the sessions they end, at once and with the reason, while the
// user's other sessions and service tokens stream on; a token of an ended session is
// refused at the handshake and at `auth`. The API as npm start composes it, the real
// replicator and gateway, socket.io-client, on a real database.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { io } from 'socket.io-client';
import { PROTOCOL_VERSION, type UnauthorizedEvent } from '@realtime/protocol';
import type { Replicator } from '@realtime/replicator';
import { Received, connect, secret, startGateway, startReplicator, token as serviceToken, waitFor, type Client, type GatewayHandle } from '@realtime/gateway/test-helpers';
import { removeUser } from '../src/users/commands';
import { startApi, type ApiFixture, type TestUser } from './fixture';
import { repoRoot } from '@realtime/testkit';


let api: ApiFixture;
let replicator: Replicator;
let gw: GatewayHandle;
let projectId = '';
const sockets: Client[] = [];

beforeAll(async () => {
  // The gateway checks the tokens the API issues: one secret for both, as npm start has.
  api = await startApi({ jwtSecret: secret });
  replicator = startReplicator(api.db.url);
  await replicator.start();
  gw = await startGateway(api.db.url, { replicator });
  projectId = (await api.sql<{ id: string }>(`INSERT INTO projects (name) VALUES ('Sessions') RETURNING id`))[0]!.id;
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await gw?.stop();
  await replicator?.stop();
  await api?.close();
});

/** A user who may see the project, signed in once (more sessions with signIn). */
async function member(email: string): Promise<TestUser> {
  const u = await api.user(email);
  await api.sql(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'viewer')`, [projectId, u.id]);
  // The grant reaches the gateway before any socket of the user does, so that a subscribe
  // to the project is judged with it.
  await waitFor('the grant fed to the gateway', async () => {
    const [head] = await api.sql<{ h: number; unstamped: number }>(`SELECT coalesce(max(seq), 0)::int AS h, count(*) FILTER (WHERE seq IS NULL)::int AS unstamped FROM change_outbox`);
    return head!.unstamped === 0 && gw.feed.position >= head!.h;
  });
  return u;
}

/** Another session of the same user: another browser signing in. */
async function signIn(u: TestUser, password = u.password): Promise<TestUser> {
  const res = await api.call('POST', '/api/auth/sign-in', { email: u.email, password });
  expect(res.status).toBe(200);
  return { ...u, cookie: String(res.headers['set-cookie']).split(';')[0]! };
}

async function realtimeToken(session: TestUser): Promise<string> {
  const res = await api.call('GET', '/api/realtime/token', undefined, session);
  expect(res.status).toBe(200);
  return res.body.token as string;
}

/** A socket of the session subscribed to the project's jobs, with what it was told and when. */
interface Stream {
  socket: Client;
  received: Received;
  told: UnauthorizedEvent[];
  toldAt: number;
}

async function stream(tok: string | Promise<string>): Promise<Stream> {
  const socket = await connect(gw.port, tok);
  sockets.push(socket);
  const s: Stream = { socket, received: new Received(socket), told: [], toldAt: 0 };
  socket.on('unauthorized', (e) => {
    s.told.push(e);
    s.toldAt = Date.now();
  });
  expect(await s.received.subscribe({ channel: 'extraction_jobs', filter: { projectId } })).toMatchObject({ ok: true });
  await waitFor('live', () => s.received.lives.length === 1);
  return s;
}

const job = async (name: string) => (await api.sql<{ id: string }>(`INSERT INTO extraction_jobs (project_id, document_name) VALUES ($1, $2) RETURNING id`, [projectId, name]))[0]!.id;

/** Still streaming: a change written now arrives. */
async function streaming(...streams: Stream[]): Promise<void> {
  const id = await job(`probe-${Math.random()}`);
  for (const s of streams) await waitFor('the probe change', () => s.received.changes.some((c) => c.row?.id === id), 10_000);
  for (const s of streams) expect(s.socket.connected).toBe(true);
}

/** Ended: told why, then disconnected by the server. */
async function ended(s: Stream, reason: UnauthorizedEvent['reason']): Promise<void> {
  await waitFor(`unauthorized (${reason})`, () => s.told.length > 0 && !s.socket.connected, 10_000);
  expect(s.told).toEqual([{ reason, message: expect.any(String) }]);
}

/** The handshake's refusal, or null when it connects. */
function handshake(tok: string): Promise<{ message: string; data?: { code?: string; reason?: string } } | null> {
  return new Promise((resolve) => {
    const socket = io(`http://127.0.0.1:${gw.port}`, { path: '/ws', transports: ['websocket'], auth: { token: tok, v: PROTOCOL_VERSION }, reconnection: false, forceNew: true });
    socket.once('connect', () => {
      socket.disconnect();
      resolve(null);
    });
    socket.once('connect_error', (err) => {
      socket.disconnect();
      resolve({ message: err.message, data: (err as { data?: { code?: string; reason?: string } }).data });
    });
  });
}

function usersCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services/api/src/users/cli.ts'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: api.db.url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a session that ends closes its sockets', () => {
  test("sign-out ends that session's socket within a second; the user's other session and a service token stream on", async () => {
    const laptop = await member('signout@example.com');
    const phone = await signIn(laptop);
    const onLaptop = await stream(realtimeToken(laptop));
    const onPhone = await stream(realtimeToken(phone));
    const backend = await stream(serviceToken());
    await streaming(onLaptop, onPhone, backend);

    const res = await api.call('POST', '/api/auth/sign-out', undefined, laptop);
    expect(res.status).toBe(204);
    const signedOutAt = Date.now();
    await ended(onLaptop, 'signed-out');
    // The end is applied as a change, in seq order, as soon as it is stamped: well within a second.
    expect(onLaptop.toldAt - signedOutAt).toBeLessThan(1000);
    await streaming(onPhone, backend);
    expect(onPhone.told).toEqual([]);
    // The outbox records the end under the session's public id, with no trace of its cookie or its hash.
    const [end] = await api.sql<{ row_id: string; new_row: Record<string, unknown>; actor: string }>(
      `SELECT row_id, new_row, actor FROM change_outbox WHERE table_name = 'session_ends' AND new_row ->> 'user_id' = $1`,
      [laptop.id],
    );
    expect(end).toMatchObject({ new_row: { user_id: laptop.id, reason: 'signed-out' }, actor: laptop.email });
    expect(Object.keys(end!.new_row).sort()).toEqual(['ended_at', 'id', 'reason', 'user_id']);
    const hash = createHash('sha256').update(decodeURIComponent(laptop.cookie.split('=')[1]!)).digest('hex');
    const leaks = await api.sql(`SELECT id FROM change_outbox WHERE concat(new_row::text, old_row::text) LIKE '%' || $1 || '%'`, [hash]);
    expect(leaks).toEqual([]);
  });

  test('sign-out everywhere ends every session of the user, and asks for JSON', async () => {
    const u = await member('everywhere@example.com');
    const other = await signIn(u);
    const bystander = await member('bystander@example.com');
    const streams = [await stream(realtimeToken(u)), await stream(realtimeToken(u)), await stream(realtimeToken(other))];
    const theirs = await stream(realtimeToken(bystander));
    await streaming(...streams, theirs);

    // A form post (or any body that is not JSON) is refused, and ends nothing.
    const form = await api.call('POST', '/api/auth/sign-out-everywhere', 'x=1', u, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect((await api.call('POST', '/api/auth/sign-out-everywhere', undefined, u, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await api.call('POST', '/api/auth/sign-out-everywhere', {}, null)).status).toBe(401);
    await streaming(...streams);

    const res = await api.call('POST', '/api/auth/sign-out-everywhere', {}, u);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ended: 2 });
    for (const s of streams) await ended(s, 'signed-out-everywhere');
    expect((await api.call('GET', '/api/auth/me', undefined, other)).status).toBe(401);
    await streaming(theirs);
  });

  test("a password reset with `npm run users -- reset-password` ends all the user's streams", async () => {
    const u = await member('reset@example.com');
    const other = await signIn(u);
    const streams = [await stream(realtimeToken(u)), await stream(realtimeToken(other))];
    await streaming(...streams);
    const run = await usersCli(['reset-password', u.email]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/2 session\(s\) ended/);
    for (const s of streams) await ended(s, 'password-reset');
  }, 60_000);

  test("a removed user's streams end", async () => {
    const u = await member('removed@example.com');
    const streams = [await stream(realtimeToken(u)), await stream(realtimeToken(await signIn(u)))];
    await streaming(...streams);
    expect(await removeUser(api.pool, u.email, { actor: 'cli:test' })).toMatchObject({ sessions: 2 });
    for (const s of streams) await ended(s, 'user-removed');
  });
});

describe('a replay never runs past the session\'s end', () => {
  test('a gateway whose feed has not brought the end yet closes the socket before it replays what followed', async () => {
    const u = await member('replay@example.com');
    const held = await startGateway(api.db.url);
    try {
      const socket = await connect(held.port, realtimeToken(u));
      sockets.push(socket);
      const told: UnauthorizedEvent[] = [];
      socket.on('unauthorized', (e) => told.push(e));
      const received = new Received(socket);
      // From here on this gateway hears nothing: the end reaches it only through the replay's own reads.
      await held.feed.stop();
      expect((await api.call('POST', '/api/auth/sign-out', undefined, u)).status).toBe(204);
      const after = await job('written-after-the-sign-out');
      await waitFor('the change stamped', async () => (await api.sql(`SELECT 1 FROM change_outbox WHERE row_id = $1 AND seq IS NOT NULL`, [after])).length > 0);
      expect(await received.subscribe({ channel: 'extraction_jobs', filter: { projectId }, since: 0 })).toMatchObject({ ok: true });
      await waitFor('unauthorized', () => told.length > 0 && !socket.connected, 10_000);
      expect(told).toEqual([{ reason: 'signed-out', message: expect.any(String) }]);
      expect(received.changes.map((c) => c.row?.id)).not.toContain(after);
    } finally {
      await held.stop();
    }
  });
});

describe('a token of an ended session is refused', () => {
  test('at the handshake, with the reason, while a token of a live session of the same user connects', async () => {
    const u = await member('handshake@example.com');
    const other = await signIn(u);
    const stale = await realtimeToken(u);
    const fresh = await realtimeToken(other);
    // Connected once, so that the gateway has read the session: its end must still count.
    const first = await stream(stale);
    expect((await api.call('POST', '/api/auth/sign-out', undefined, u)).status).toBe(204);
    await ended(first, 'signed-out');
    expect(await handshake(stale)).toMatchObject({ message: expect.stringMatching(/^UNAUTHORIZED: this session was signed out/), data: { code: 'UNAUTHORIZED', reason: 'signed-out' } });
    expect(await handshake(fresh)).toBeNull();
  });

  test('at the handshake, for a session this gateway never saw', async () => {
    const u = await member('never-seen@example.com');
    const stale = await realtimeToken(u);
    expect((await api.call('POST', '/api/auth/sign-out-everywhere', {}, u)).status).toBe(200);
    expect(await handshake(stale)).toMatchObject({ data: { code: 'UNAUTHORIZED', reason: 'signed-out-everywhere' } });
  });

  test('at `auth`: the socket keeps its own live session and streams on', async () => {
    const u = await member('refresh@example.com');
    const other = await signIn(u);
    const s = await stream(realtimeToken(u));
    const stale = await realtimeToken(other);
    expect((await api.call('POST', '/api/auth/sign-out', undefined, other)).status).toBe(204);
    const refused = await s.socket.timeout(10_000).emitWithAck('auth', { token: stale });
    expect(refused).toEqual({ ok: false, error: { code: 'UNAUTHORIZED', message: expect.stringMatching(/signed out/) } });
    const renewed = await s.socket.timeout(10_000).emitWithAck('auth', { token: await realtimeToken(u) });
    expect(renewed).toMatchObject({ ok: true });
    await streaming(s);
    expect(s.told).toEqual([]);
  });
});
