// A link that dies without a close (a network switch, a sleeping laptop, a black-holed
// route): `npm start`'s process with its default heartbeat, reached through a TCP proxy
// that stops forwarding bytes but keeps both of its sockets open. Neither end gets a FIN
// or a reset, so only the heartbeat can tell: the client must leave Live, and the gateway
// let go of the socket, within 10 s. Then the route heals and the client catches up by
// replay. Node, no window: the client runs on its backoff alone.
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type pg from 'pg';
import { createRealtime, reduce, type LiveList, type Resume } from '@realtime/client';
import { startServer, type RealServer } from './server';

const METRICS_TOKEN = 'dead-link-metrics-token-0123456789';

let real: RealServer;
let pool: pg.Pool;
let base = '';
const until: RealServer['until'] = (...args) => real.until(...args);
const serviceToken = () => real.serviceToken();

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
  // No PING_* variables: the defaults are what is tested.
  real = await startServer({ secret: 'dead-link-test-secret-0123456789abcdef0123456789', env: { METRICS_TOKEN, PING_INTERVAL_MS: '', PING_TIMEOUT_MS: '' } });
  ({ pool, base } = real);
});

afterAll(async () => {
  await real?.stop();
});

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
