// MAX_SOCKETS_PER_USER across gateways (REDIS_URL): two gateways on one redis-server hold
// one count per user; a socket that leaves gives its place back; a gateway gone without
// giving its places back loses them after the lease; with Redis away each gateway counts
// its own (one warning), and with Redis back the count is shared again. Real Postgres,
// gateways, redis-server and socket.io-client.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { io } from 'socket.io-client';
import { PROTOCOL_VERSION } from '@realtime/protocol';
import { signUserToken } from '@realtime/auth';
import { createLogger } from '@realtime/runtime';
import { Leases, SharedRedis } from '@realtime/shared-limits';
import { startRedis, type RunningRedis } from '@realtime/testkit';
import { connect, secret, startGateway, useStack, waitFor, type Client, type GatewayHandle } from './helpers';

const stack = useStack();
const LEASE_MS = 1500;
const lines: string[] = [];
const log = createLogger('info', {}, { sink: (line) => lines.push(line) });
let redis: RunningRedis;
const connections: SharedRedis[] = [];
const gateways: GatewayHandle[] = [];
const clients: Client[] = [];

async function gateway(): Promise<{ gw: GatewayHandle; redis: SharedRedis }> {
  const r = new SharedRedis({ url: redis.url, prefix: 'gw-test', log });
  r.start();
  connections.push(r);
  await waitFor('Redis to answer', async () => (await r.run((c) => c.ping())) === 'PONG');
  const gw = await startGateway(stack.db.url, { replicator: stack.replicator, limits: { maxSocketsPerUser: 2 }, sharedSockets: new Leases({ redis: r, set: 'sockets', leaseMs: LEASE_MS }) });
  gateways.push(gw);
  return { gw, redis: r };
}

async function user(email: string): Promise<string> {
  return (await stack.pool.query<{ id: string }>(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [email])).rows[0]!.id;
}

async function open(gw: GatewayHandle, userId: string): Promise<Client> {
  const c = await connect(gw.port, signUserToken(secret, userId, 900));
  clients.push(c);
  return c;
}

/** The code of a refused handshake, or null when it connected (and it is closed again). */
async function handshake(gw: GatewayHandle, userId: string): Promise<string | null> {
  const socket = io(`http://127.0.0.1:${gw.port}`, { path: '/ws', transports: ['websocket'], auth: { token: await signUserToken(secret, userId, 900), v: PROTOCOL_VERSION }, reconnection: false, forceNew: true });
  try {
    return await new Promise((resolve) => {
      socket.once('connect', () => resolve(null));
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve(err.data?.code ?? err.message));
    });
  } finally {
    socket.disconnect();
  }
}

let a: GatewayHandle;
let b: GatewayHandle;

beforeAll(async () => {
  redis = await startRedis();
  a = (await gateway()).gw;
  b = (await gateway()).gw;
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const g of gateways) await g.stop();
  for (const r of connections) await r.close();
  await redis?.stop();
});

test('MAX_SOCKETS_PER_USER=2: one socket on each gateway, a third on either is refused; closing one frees a place', async () => {
  const ann = await user('ann@example.com');
  const onA = await open(a, ann);
  await open(b, ann);
  expect(await handshake(a, ann)).toBe('TOO_MANY_SOCKETS');
  expect(await handshake(b, ann)).toBe('TOO_MANY_SOCKETS');
  expect(await handshake(b, await user('ben@example.com'))).toBeNull();
  onA.disconnect();
  await waitFor('the place on a to free for b', async () => (await handshake(b, ann)) === null);
});

test('a gateway gone without giving its places back frees them after the lease', async () => {
  const cid = await user('cid@example.com');
  const doomed = await gateway();
  await open(doomed.gw, cid);
  await open(doomed.gw, cid);
  expect(await handshake(a, cid)).toBe('TOO_MANY_SOCKETS');
  // As a killed process: its connection to Redis is gone before it could give anything back.
  await doomed.redis.close();
  await doomed.gw.stop();
  gateways.splice(gateways.indexOf(doomed.gw), 1);
  expect(await handshake(a, cid)).toBe('TOO_MANY_SOCKETS');
  await waitFor('the dead gateway\'s places to lapse', async () => (await handshake(a, cid)) === null);
});

test('Redis away: each gateway counts its own, one warning each; Redis back: shared again', async () => {
  const dee = await user('dee@example.com');
  const from = lines.length;
  await redis.kill();
  await open(a, dee);
  await open(a, dee);
  // This gateway's own count still holds; the other counts apart.
  expect(await handshake(a, dee)).toBe('TOO_MANY_SOCKETS');
  const onB = await open(b, dee);
  const warnings = () => lines.slice(from).filter((l) => l.includes('Redis (REDIS_URL) does not answer'));
  await waitFor('a warning from each gateway\'s connection', () => warnings().length >= 2);
  await redis.restart();
  await waitFor('each connection to say Redis is back', () => lines.slice(from).filter((l) => l.includes('answers again')).length >= 2);
  // Renewals count the three sockets again: the user is over the shared count, and a new one is refused even where there is room.
  await waitFor('b to refuse by the shared count', async () => (await handshake(b, dee)) === 'TOO_MANY_SOCKETS');
  // One warning per gateway's connection, however long Redis was away (the stopped gateway's is closed and says nothing).
  expect(warnings().length).toBe(2);
  onB.disconnect();
});
