// Scaling out on the shared change log: `npm run replicator` appends every stamped change
// to Redis (REDIS_URL), two `npm run gateway` processes read their live feed from it, and
// a client of each receives the same changes with the outbox's seqs. Each gateway's
// /status says its feed comes from the log; each process stops on SIGTERM with `stopped`.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { testLoginEnv, useTestDatabase } from '@realtime/db/testing';
import { PROTOCOL_VERSION, unbatch, type ChangeEvent } from '@realtime/protocol';
import { signToken } from '@realtime/auth';
import { startMain, startRedis, waitFor, type Main, type RunningMain, type RunningRedis } from '@realtime/testkit';

const fx = useTestDatabase();
const SECRET = 'a9c1d7f2e04b6385f1a2c3d4e5f60718293a4b5c6d7e8f90';
const METRICS_TOKEN = 'scale-out-metrics-token-0123456789';
const running: RunningMain[] = [];
let redis: RunningRedis;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const m of running) await m.stop();
  await redis?.stop();
});

async function start(main: Main, env: Record<string, string> = {}): Promise<RunningMain> {
  const m = await startMain(main, {
    env: { DATABASE_URL: fx.db.url, ...testLoginEnv(fx.db.url), PORT: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json', METRICS_TOKEN, REALTIME_JWT_SECRET: SECRET, REDIS_URL: redis.url, DEMO: '0', ...env },
  });
  running.push(m);
  return m;
}

const jsonLines = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
const status = async (m: RunningMain) => (await (await fetch(`${m.base}/status`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).json()) as Record<string, Record<string, unknown> | null>;

test('a replicator appending to Redis and two gateways reading it: their clients get the same changes, with the outbox seqs', async () => {
  const replicator = await start('replicator');
  await waitFor('the replicator to lead', async () => (await status(replicator)).process?.role === 'leader', 60_000);
  const [a, b] = await Promise.all([start('gateway'), start('gateway')]);
  for (const g of [a, b]) expect(g.output()).toMatch(/Live feed: the change log at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\)/);
  await waitFor('both gateways to feed from the log', async () => (await status(a)).feed?.fromLog === true && (await status(b)).feed?.fromLog === true, 30_000);

  const token = await signToken(new TextEncoder().encode(SECRET), { channels: ['*'], projects: ['*'] }, { ttlSeconds: 600 });
  const clients: { socket: Socket; changes: ChangeEvent[] }[] = [];
  try {
    for (const g of [a, b]) {
      const socket = io(g.base, { path: '/ws', transports: ['websocket'], auth: { token, v: PROTOCOL_VERSION }, reconnection: false });
      const changes: ChangeEvent[] = [];
      socket.on('changes', (batch) => changes.push(...unbatch(batch)));
      expect(await socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects' })).toMatchObject({ ok: true });
      clients.push({ socket, changes });
    }
    // Other writers than the API: SQL, in several transactions.
    for (let i = 0; i < 10; i++) await fx.pool.query(`INSERT INTO projects (name) SELECT 'scaled ' || $1::int || '-' || g FROM generate_series(1, 5) g`, [i]);
    await waitFor('every seq stamped', async () => (await fx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox WHERE seq IS NULL`)).rows[0]!.n === '0', 30_000);
    const stamped = (await fx.pool.query<{ seq: string }>(`SELECT seq FROM change_outbox WHERE table_name = 'projects' AND new_row ->> 'name' LIKE 'scaled %' ORDER BY seq`)).rows.map((r) => Number(r.seq));
    expect(stamped).toHaveLength(50);
    for (const c of clients) await waitFor('both clients to get all 50', () => c.changes.length >= 50, 30_000);
    expect(clients[0]!.changes.map((c) => c.seq)).toEqual(stamped);
    expect(clients[1]!.changes.map((c) => c.seq)).toEqual(stamped);
    // Both fed by the log; the replicator's log is up to its head.
    for (const g of [a, b]) expect(((await status(g)).feed as { batches: Record<string, number> }).batches.log).toBeGreaterThan(0);
    await waitFor('the log to reach the head', async () => {
      const s = (await status(replicator)).changelog as { lag: number; connected: boolean } | undefined;
      return s?.connected === true && s.lag === 0;
    }, 30_000);
  } finally {
    for (const c of clients) c.socket.disconnect();
  }
  for (const m of [a, b, replicator]) {
    expect(await m.stop(), m.main).toEqual({ code: 0, signal: null });
    expect(jsonLines(m.output()).at(-1)?.msg, `${m.main}'s last line`).toBe('stopped');
  }
}, 180_000);
