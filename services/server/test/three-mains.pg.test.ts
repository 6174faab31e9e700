// The three parts as separate processes on one database, as compose runs them: `npm run
// api`, `npm run gateway` and `npm run replicator`, each booting alone with its own
// health and status. A project written through the API reaches a socket of the gateway,
// stamped by the replicator; then each stops on SIGTERM with `stopped` as its last line.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { io } from 'socket.io-client';
import { testLoginEnv, useTestDatabase } from '@realtime/db/testing';
import { PROTOCOL_VERSION, unbatch, type ChangeEvent } from '@realtime/protocol';
import { waitFor } from '@realtime/gateway/test-helpers';
import { startMain, type Main, type RunningMain } from '@realtime/testkit';

const fx = useTestDatabase();
const SECRET = 'c2f1d7a9e04b6385f1a2c3d4e5f60718293a4b5c6d7e8f90';
const METRICS_TOKEN = 'three-mains-metrics-token-0123456789';
const demoFile = path.join(mkdtempSync(path.join(tmpdir(), 'three-mains-')), 'demo-users.txt');
const running: RunningMain[] = [];

afterAll(async () => {
  for (const m of running) await m.stop();
});

async function start(main: Main, env: Record<string, string>): Promise<RunningMain> {
  const m = await startMain(main, {
    env: {
      // Each part against the one database: the owner's URL (it migrates, a no-op after the
      // first) and its own login role, as deployed.
      DATABASE_URL: fx.db.url,
      ...testLoginEnv(fx.db.url),
      PORT: '0',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      METRICS_TOKEN,
      ...env,
    },
  });
  running.push(m);
  return m;
}

const jsonLines = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; level: number });

test('api, gateway and replicator run alone on one database: a write through the API reaches a client of the gateway, stamped by the replicator', async () => {
  // The API first: it migrates and creates the demo users (their passwords go to the file).
  const api = await start('api', { DEMO: '1', SIMULATOR_INTERVAL_MS: '60000', DEMO_USERS_FILE: demoFile, REALTIME_JWT_SECRET: SECRET });
  const [gateway, replicator] = await Promise.all([start('gateway', { REALTIME_JWT_SECRET: SECRET }), start('replicator', { DEMO: '0' })]);

  // Each says where it listens and what it needs.
  expect(api.output()).toMatch(/Needs: gateways \(npm run gateway\) with the same REALTIME_JWT_SECRET/);
  expect(gateway.output()).toMatch(/Needs: a replicator on the same database \(npm run replicator\)/);
  expect(replicator.output()).toMatch(/Gateways \(npm run gateway\) on the same database stream what it stamps/);
  const bearer = { authorization: `Bearer ${METRICS_TOKEN}` };
  const signIn = async (email: string) => {
    const password = new RegExp(`${email.replace('.', '\\.')}\\s+(\\S+)`).exec(readFileSync(demoFile, 'utf8'))![1]!;
    const res = await fetch(`${api.base}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    expect(res.status, email).toBe(200);
    return { cookie: res.headers.get('set-cookie')!.split(';')[0]! };
  };
  const session = await signIn('owner@demo.example');
  const operator = await signIn('operator@demo.example');
  // Each is healthy on its own; /status and /metrics are the operators': a signed-in
  // operator at the API, METRICS_TOKEN where no users exist.
  for (const m of [api, gateway, replicator]) {
    await waitFor(`${m.main} healthy`, async () => (await fetch(`${m.base}/healthz`)).status === 200);
    expect((await fetch(`${m.base}/status`)).status, `${m.main} /status without credentials`).toBe(401);
    expect((await fetch(`${m.base}/metrics`, { headers: bearer })).status, `${m.main} /metrics`).toBe(200);
  }
  const status = async (m: RunningMain) => {
    const res = await fetch(`${m.base}/status`, { headers: m === api ? operator : bearer });
    expect(res.status, `${m.main} /status`).toBe(200);
    return (await res.json()) as Record<string, { role?: string; mode?: string; sockets?: number } | null>;
  };
  expect((await status(replicator)).process).toMatchObject({ role: 'leader', mode: 'wal' });
  // Each part alone: no gateway in the API or the replicator, no replicator in the gateway.
  expect(await status(api)).toMatchObject({ process: null, gateway: null });
  expect(await status(gateway)).toMatchObject({ process: null, gateway: { sockets: 0 } });
  // The API serves no socket: a Socket.IO handshake there gets no session.
  expect(await (await fetch(`${api.base}/ws/?EIO=4&transport=polling`)).text()).not.toMatch(/"sid"/);

  // A token from the API that the gateway accepts (the shared secret).
  const { token } = (await (await fetch(`${api.base}/api/realtime/token`, { headers: session })).json()) as { token: string };

  const socket = io(gateway.base, { path: '/ws', transports: ['websocket'], auth: { token, v: PROTOCOL_VERSION }, reconnection: false });
  try {
    const changes: ChangeEvent[] = [];
    socket.on('changes', (b) => changes.push(...unbatch(b)));
    expect(await socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects' })).toMatchObject({ ok: true });

    const created = await fetch(`${api.base}/api/projects`, { method: 'POST', headers: { 'content-type': 'application/json', ...session }, body: JSON.stringify({ name: 'three processes' }) });
    expect(created.status).toBe(201);
    const project = (await created.json()) as Record<string, unknown>;
    const change = await waitFor('the change on the gateway\'s socket', async () => changes.find((c) => c.row?.id === project.id));
    // The row the API returned, with the seq the replicator gave its outbox row.
    expect(change).toMatchObject({ op: 'INSERT', channel: 'projects', row: project });
    const { rows } = await fx.pool.query<{ seq: string }>(`SELECT seq FROM change_outbox WHERE row_id = $1`, [project.id]);
    expect(rows.map((r) => Number(r.seq))).toEqual([change.seq]);
  } finally {
    socket.disconnect();
  }

  // SIGTERM: each exits 0, and its last line is `stopped`.
  for (const m of [api, gateway, replicator]) {
    expect(await m.stop(), m.main).toEqual({ code: 0, signal: null });
    expect(jsonLines(m.output()).at(-1)?.msg, `${m.main}'s last line`).toBe('stopped');
  }
}, 180_000);
