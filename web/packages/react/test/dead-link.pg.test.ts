// A link that dies without a close (a network switch, a sleeping laptop, a black-holed
// route): `npm start`'s process with its default heartbeat, reached through a TCP proxy
// that stops forwarding bytes but keeps both of its sockets open. Neither end gets a FIN
// or a reset, so only the heartbeat can tell: the client must leave Live, and the gateway
// let go of the socket, within 10 s. Then the route heals and the client catches up by
// replay. Node, no window: the client runs on its backoff alone.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { SignJWT } from 'jose';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@realtime/protocol';
import { createRealtime, reduce, type LiveList, type Resume } from '@realtime/client';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const SECRET = 'dead-link-test-secret-0123456789abcdef0123456789';
const METRICS_TOKEN = 'dead-link-metrics-token-0123456789';

let db: TestDatabase;
let pool: pg.Pool;
let server: ChildProcess;
let base = '';
let output = '';

async function until<T>(what: string, probe: () => Promise<T | false | null | undefined> | T | false | null | undefined, ms = 30_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Forwards bytes both ways until black-holed: then drops them, and closes nothing. */
class BlackHoleProxy {
  blackHoled = false;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      const forward = (to: net.Socket) => (chunk: Buffer) => {
        if (!this.blackHoled) to.write(chunk);
      };
      client.on('data', forward(upstream));
      upstream.on('data', forward(client));
      // A close is forwarded only while the route works: a dead route carries no FIN either.
      client.on('end', () => !this.blackHoled && upstream.end());
      upstream.on('end', () => !this.blackHoled && client.end());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // No PING_* variables: the defaults are what is tested.
  server = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'services/api/src/main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: db.url, PORT: '0', DEMO: '0', LOG_LEVEL: 'warn', REALTIME_JWT_SECRET: SECRET, METRICS_TOKEN, PING_INTERVAL_MS: '', PING_TIMEOUT_MS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const m = await until('the server to listen', () => server.exitCode === null && /Open (http:\/\/localhost:\d+)/.exec(output), 60_000);
  base = m[1]!.replace('localhost', '127.0.0.1');
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  await pool?.end();
  await db?.drop();
});

const serviceToken = () =>
  new SignJWT({ channels: ['*'], projects: ['*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

/** The gateway's open sockets, as Prometheus reads them. */
const gatewaySockets = async (): Promise<number> => {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const text = await res.text();
  const m = /^realtime_connected_sockets (\d+)$/m.exec(text);
  if (res.status !== 200 || !m) throw new Error(`/metrics: ${res.status} ${text.slice(0, 300)}`);
  return Number(m[1]);
};

test('a black-holed link leaves Live within 10 s at the client and is let go by the gateway as soon; after it heals, replay catches up', async () => {
  const proxy = new BlackHoleProxy(Number(new URL(base).port));
  await proxy.listen();
  const token = await serviceToken();
  const client = createRealtime({ url: `http://127.0.0.1:${proxy.port}`, getToken: async () => ({ token, expiresAt: Date.now() + 3600_000 }) });
  // From now on, then from the last seq it applied.
  let list: LiveList = { items: [], seq: 0 };
  client.subscribe({ channel: 'projects', resume: (): Resume => (list.seq ? { since: list.seq } : {}) }, { onChanges: (es) => (list = reduce(list, es)) });
  client.start();
  try {
    await until('the client to be live', () => client.connection.status === 'live');
    await until('the gateway to count the socket', async () => (await gatewaySockets()) === 1);
    const before = await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('before the black hole') RETURNING id`);
    await until('the change before the black hole', () => list.items.some((r) => r.id === before.rows[0]!.id));

    proxy.blackHoled = true;
    const t0 = performance.now();
    let clientMs = 0;
    let gatewayMs = 0;
    await Promise.all([
      until('the client to leave Live', () => client.connection.status !== 'live' && (clientMs = performance.now() - t0), 15_000, 20),
      until('the gateway to let the socket go', async () => (await gatewaySockets()) === 0 && (gatewayMs = performance.now() - t0), 15_000, 100),
    ]);
    console.log(`dead link noticed: client left Live after ${(clientMs / 1000).toFixed(2)} s, gateway let the socket go after ${(gatewayMs / 1000).toFixed(2)} s`);
    expect(client.connection.status).toBe('offline');
    expect(clientMs).toBeLessThan(10_000);
    expect(gatewayMs).toBeLessThan(10_000);

    // Written while the route is dead: it must come by replay once it heals.
    const during = await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('during the black hole') RETURNING id`);
    proxy.blackHoled = false;
    const healed = performance.now();
    await until('live again, with the change made meanwhile', () => client.connection.status === 'live' && list.items.some((r) => r.id === during.rows[0]!.id), 60_000);
    console.log(`route healed: live again after ${((performance.now() - healed) / 1000).toFixed(2)} s`);
    expect(client.connection.lastCatchUp).toBeGreaterThanOrEqual(1);
  } finally {
    client.stop();
    await proxy.close();
  }
});
