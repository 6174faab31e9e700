// `npm start`'s process as users run it: one port for /api, /healthz, /status and /ws, the
// demo users printed with their passwords, a signed-in API write streamed end to end to
// the same user's socket, operators' /metrics and /status, each part connected as its
// own login role, a clean SIGTERM.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { io } from 'socket.io-client';
import { testLoginEnv, useTestDatabase } from '@realtime/db/testing';
import { PROTOCOL_VERSION, unbatch, type ChangeEvent } from '@realtime/protocol';
import { waitFor } from '@realtime/gateway/test-helpers';
import { spawnMain, untilListening } from '@realtime/testkit';

const fx = useTestDatabase();
const demoFile = path.join(mkdtempSync(path.join(tmpdir(), 'demo-users-')), 'demo-users.txt');

/** Prometheus text exposition: every sample line parsed, anything else refused. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

/** Signs in and returns the session cookie. */
async function signIn(base: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

test('one process serves /api, /healthz, /status and /ws on one port, streams an API write, and stops on SIGTERM', async () => {
  const app = spawnMain('server', { env: { DATABASE_URL: fx.db.url, ...testLoginEnv(fx.db.url), PORT: '0', DEMO: '1', LOG_LEVEL: 'warn', REALTIME_JWT_SECRET: '', DEMO_USERS_FILE: demoFile, HOST: '' } });
  try {
    const port = await untilListening(app);
    // Its output is a pipe, not a terminal: the passwords go to a file only its owner reads, which the banner names.
    await waitFor('the demo users\' file named', () => app.output().includes(`Their passwords are in ${demoFile} (readable by its owner only`));
    expect(statSync(demoFile).mode & 0o777).toBe(0o600);
    const passwords = readFileSync(demoFile, 'utf8');
    const demo = async (email: string) => {
      const password = new RegExp(`${email.replace('.', '\\.')}\\s+(\\S+)`).exec(passwords)![1]!;
      expect(app.output()).not.toContain(password);
      return password;
    };
    // npm start serves this machine only unless HOST says otherwise.
    expect(app.output()).toContain('Listening on 127.0.0.1 only');
    const outside = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (outside) await expect(fetch(`http://${outside}:${port}/healthz`)).rejects.toThrow();
    const base = `http://127.0.0.1:${port}`;
    const owner = { cookie: await signIn(base, 'owner@demo.example', await demo('owner@demo.example')) };
    const operator = { cookie: await signIn(base, 'operator@demo.example', await demo('operator@demo.example')) };
    // No all-access token is printed any more: nothing that looks like a JWT.
    expect(app.output()).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
    expect((await fetch(`${base}/api/projects`)).status).toBe(401);
    const tokenRes = await fetch(`${base}/api/realtime/token`, { headers: owner });
    const { token } = (await tokenRes.json()) as { token: string };
    const health = await waitFor('healthy', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return res.status === 200 ? res.json() : null;
    });
    expect(health).toEqual({ status: 'ok' });
    const socket = io(`http://127.0.0.1:${port}`, { path: '/ws', transports: ['websocket'], auth: { token, v: PROTOCOL_VERSION }, reconnection: false });
    const changes: ChangeEvent[] = [];
    socket.on('changes', (b) => changes.push(...unbatch(b)));
    const ack = await socket.timeout(10_000).emitWithAck('subscribe', { channel: 'projects' });
    expect(ack).toMatchObject({ ok: true });
    const created = await fetch(`http://127.0.0.1:${port}/api/projects`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'someone-else@example.com', ...owner },
      body: JSON.stringify({ name: 'end to end' }),
    });
    expect(created.status).toBe(201);
    const project = (await created.json()) as Record<string, unknown>;
    await waitFor('the change', () => changes.some((c) => c.row?.id === project.id));
    // The streamed row is the row the API returned: same keys, same values.
    expect(changes.find((c) => c.row?.id === project.id)).toMatchObject({ op: 'INSERT', channel: 'projects', row: project });
    const { rows } = await fx.pool.query(`SELECT actor FROM change_outbox WHERE row_id = $1`, [project.id]);
    expect(rows).toEqual([{ actor: 'owner@demo.example' }]);
    const list = (await (await fetch(`http://127.0.0.1:${port}/api/projects`, { headers: owner })).json()) as { items: unknown[]; cursor: string };
    // The owner's two demo projects and the new one; not the third demo project.
    expect(list.items.length).toBe(3);
    expect(typeof list.cursor).toBe('string');
    // /metrics is Prometheus text, and it moved with the change that just flowed.
    expect((await fetch(`${base}/metrics`, { headers: owner })).status).toBe(403);
    const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: operator })).text();
    const m = parsePrometheus(metricsText);
    expect(m.get('realtime_changes_stamped_total')).toBeGreaterThanOrEqual(1);
    expect(m.get('realtime_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(m.get('realtime_stamp_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(m.get('realtime_connected_sockets')).toBe(1);
    expect(m.get('realtime_subscriptions')).toBe(1);
    expect(m.get('realtime_replicator_mode{mode="wal"}')).toBe(1);
    expect(m.get('realtime_unstamped_backlog')).toBe(0);
    expect(m.has('realtime_slot_lag_bytes')).toBe(true);
    const stampedBefore = m.get('realtime_changes_stamped_total')!;
    await fx.pool.query(`INSERT INTO projects (name) SELECT 'metric ' || g FROM generate_series(1, 5) g`);
    await waitFor('the counter to move', async () => (parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: operator })).text()).get('realtime_changes_stamped_total') ?? 0) >= stampedBefore + 5);
    // The operators' outbox reads run as the API's login role too.
    for (const route of ['/api/outbox?limit=5', '/api/outbox/stats', '/api/outbox/tables', `/api/outbox/history/projects/${String(project.id)}`]) {
      expect((await fetch(`${base}${route}`, { headers: operator })).status, route).toBe(200);
    }
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`, { headers: operator })).json()) as { gateway: { sockets: number; subscriptions: number } };
    expect(status.gateway).toMatchObject({ sockets: 1, subscriptions: 1 });
    // Seeded demo data is there.
    const { rows: seeded } = await fx.pool.query(`SELECT count(*)::int AS n FROM projects`);
    expect(seeded[0].n).toBeGreaterThanOrEqual(3);
    // Every connection of its own traffic runs as the part's login role; only the demo
    // data (seed, simulator) writes as the owner. The names are testLoginEnv's.
    const login = (service: string) => `rt_${service}_${fx.db.name}`;
    const ownerRole = new URL(fx.db.url).username;
    const roleOf: Record<string, string> = {
      'realtime-api': login('api'),
      'realtime-feed': login('gateway'),
      'realtime-replay': login('gateway'),
      'realtime-gateway-listen': login('gateway'),
      'realtime-gateway-catalog': login('gateway'),
      'realtime-replicator': login('replicator'),
      'realtime-replicator-wal': login('replicator'),
      'realtime-replicator-listen': login('replicator'),
      'realtime-demo': ownerRole,
      'realtime-seed': ownerRole,
      'realtime-migrate': ownerRole,
    };
    const required = ['realtime-api', 'realtime-feed', 'realtime-gateway-listen', 'realtime-replicator', 'realtime-replicator-wal'];
    const activity = await waitFor('every part connected', async () => {
      const { rows } = await fx.pool.query<{ application_name: string; usename: string }>(
        `SELECT application_name, usename FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'realtime-%' ORDER BY application_name`,
      );
      return required.every((n) => rows.some((r) => r.application_name === n)) ? rows : null;
    });
    expect(activity).toEqual(activity.map((a) => ({ application_name: a.application_name, usename: roleOf[a.application_name] ?? 'a connection of no known part' })));
    const { rows: attrs } = await fx.pool.query(`SELECT bool_or(rolsuper OR rolbypassrls) AS privileged, count(*)::int AS n FROM pg_roles WHERE rolname = ANY($1)`, [['api', 'gateway', 'replicator'].map(login)]);
    expect(attrs).toEqual([{ privileged: false, n: 3 }]);
    expect(app.output()).not.toMatch(/connects to Postgres as/);
    socket.disconnect();
  } finally {
    app.proc.kill('SIGTERM');
  }
  expect(await app.exited).toEqual({ code: 0, signal: null });
}, 60_000);
