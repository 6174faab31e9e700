// In `npm start`'s process the replicator hands a whole transaction to the gateway
// numbered from the WAL, before its stamp statement runs. Here the stamp is held back (a
// test trigger waits on an advisory lock the test holds), so the clients have changes
// whose seqs exist nowhere in the database; then the process is killed with SIGKILL and
// its stamp never lands. The next process must give every change the seq the client
// already has: none given to two changes, none lost, none twice.
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { commitOutOfIdOrder, createTestDatabase, holdStamps, type TestDatabase } from '@realtime/db/testing';
import { signToken } from '@realtime/auth';
import { Received, waitFor } from '@realtime/gateway/test-helpers';
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerToClientEvents } from '@realtime/protocol';
import { startApp, type RunningApp } from './spawn';

const SECRET = 'early-delivery-secret-0123456789abcdef0123';

let db: TestDatabase;
let pool: pg.Pool;
const apps: RunningApp[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  // Idle connections of ours are ended too when the dead process's sessions are.
  pool.on('error', () => undefined);
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const a of apps) await a.stop().catch(() => undefined);
  await pool.end();
  await db.drop();
});

async function app(): Promise<RunningApp> {
  const a = await startApp(db.url, { REALTIME_JWT_SECRET: SECRET, REPLICATOR: '1', REPLICATOR_THREAD: '1' });
  apps.push(a);
  return a;
}

async function watch(base: string, since?: number): Promise<Received> {
  const token = await signToken(new TextEncoder().encode(SECRET), { channels: ['*'], projects: ['*'] }, { ttlSeconds: 600 });
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(base, { path: '/ws', transports: ['websocket'], auth: { token, v: PROTOCOL_VERSION }, reconnection: false, forceNew: true });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const got = new Received(socket);
  const ack = await got.subscribe({ channel: 'projects', ...(since === undefined ? {} : { since }) });
  expect(ack.ok).toBe(true);
  await waitFor('the subscription to be live', () => got.lives.length > 0, 30_000);
  return got;
}

const heldBy = (got: Received) => new Map(got.changes.map((c) => [c.seq, `${c.op} ${String((c.row ?? c.old)?.id)} ${String((c.row ?? c.old)?.name)}`]));

async function outbox(): Promise<Map<number, string>> {
  const { rows } = await pool.query(`SELECT seq::int AS seq, op, row_id, coalesce(new_row, old_row) ->> 'name' AS name FROM change_outbox WHERE seq IS NOT NULL ORDER BY seq`);
  const map = new Map<number, string>();
  for (const r of rows) {
    expect(map.has(r.seq), `seq ${r.seq} given twice`).toBe(false);
    map.set(r.seq, `${r.op} ${r.row_id} ${r.name}`);
  }
  return map;
}

const waitForWal = () =>
  waitFor('a leader in WAL mode', async () => (await pool.query(`SELECT mode FROM realtime_state`)).rows[0]?.mode === 'wal', 60_000);

test('SIGKILL after changes went out numbered and before their stamp: the next leader numbers them the same', async () => {
  const first = await app();
  await waitForWal();
  const before = await watch(first.base);

  // A stamp statement that waits for the test: the changes can only reach the client
  // early, and the kill lands before any stamp.
  const hold = await holdStamps(pool);

  // B commits first though A inserted first: commit order, not id order, decides.
  await commitOutOfIdOrder(pool, 15, 'a', 'b');
  await waitFor('30 changes at the client', () => before.changes.length >= 30, 30_000);
  expect(before.seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  expect(before.changes.slice(0, 15).map((c) => String(c.row?.name)[0]).join('')).toBe('b'.repeat(15));
  const { rows: stamped } = await pool.query(`SELECT count(seq)::int AS n FROM change_outbox`);
  expect(stamped[0].n, 'a change was stamped before it went out: nothing early to test').toBe(0);
  const held = heldBy(before);

  // The kill. The dead process's session still waits in the trigger; Postgres would end
  // it once it noticed the client gone, which is what terminating it does at once.
  process.kill(first.pid, 'SIGKILL');
  await waitFor('the process to be gone', () => {
    try {
      process.kill(first.pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000);
  await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> $1`, [hold.pid]);
  await hold.release();
  expect((await pool.query(`SELECT count(seq)::int AS n FROM change_outbox`)).rows[0].n, 'the dead leader\'s stamp landed after all').toBe(0);

  const second = await app();
  await waitForWal();
  await waitFor('the 30 changes stamped again', async () => (await pool.query(`SELECT count(seq)::int AS n FROM change_outbox`)).rows[0].n === 30, 60_000);
  expect(await outbox(), 'the next leader numbered the changes differently from what the client holds').toEqual(held);

  // A client of the new process that replays from the start holds the same, and later
  // changes follow on.
  const after = await watch(second.base, 0);
  await pool.query(`INSERT INTO projects (name) SELECT 'c' || g FROM generate_series(1, 5) g`);
  await waitFor('35 changes at the new client', () => after.changes.length >= 35, 30_000);
  expect(after.seqs).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
  const all = await outbox();
  expect(heldBy(after)).toEqual(all);
  for (const [seq, change] of held) expect(all.get(seq)).toBe(change);
}, 180_000);
