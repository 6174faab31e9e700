// A page whose origin is not in FRONTEND_URL: its handshake is refused with 403, by
// polling and by WebSocket alike, and the gateway logs the origin it got, the origins it
// allows and the variable to set. Real gateway, real socket.io-client, real HTTP.
import http from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { io } from 'socket.io-client';
import { PROTOCOL_VERSION } from '@realtime/protocol';
import { startGateway, token, useStack, type GatewayHandle } from './helpers';

const stack = useStack();
let gw: GatewayHandle;
const lines: Record<string, unknown>[] = [];
const FOREIGN = 'https://evil.example';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  gw = await startGateway(stack.db.url, { replicator: stack.replicator, log: pino({ level: 'warn' }, sink) });
});
afterAll(async () => {
  await gw?.stop();
});

/** What socket.io-client reports for a refused handshake over one transport. */
async function refused(transport: 'polling' | 'websocket'): Promise<Error & { description?: unknown; context?: unknown }> {
  const socket = io(`http://127.0.0.1:${gw.port}`, {
    path: '/ws',
    transports: [transport],
    auth: { token: await token(), v: PROTOCOL_VERSION },
    reconnection: false,
    forceNew: true,
    extraHeaders: { origin: FOREIGN },
  });
  try {
    return await new Promise((resolve, reject) => {
      socket.once('connect', () => reject(new Error('connected from a foreign origin')));
      socket.once('connect_error', (err) => resolve(err as Error & { description?: unknown }));
    });
  } finally {
    socket.disconnect();
  }
}

/** A WebSocket upgrade by hand: the status line and body the browser's network panel shows. */
function upgrade(origin: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: gw.port,
      path: '/ws/?EIO=4&transport=websocket',
      headers: { origin, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a handshake from an origin not in FRONTEND_URL', () => {
  test('polling: socket.io-client sees 403; the body names the origin and FRONTEND_URL', async () => {
    const err = await refused('polling');
    expect(err.message).toBe('xhr poll error');
    expect(err.description).toBe(403);
    const res = await fetch(`http://127.0.0.1:${gw.port}/ws/?EIO=4&transport=polling`, { headers: { origin: FOREIGN } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { code: number; message: string };
    expect(body.code).toBe(4);
    expect(body.message).toMatch(/^ORIGIN_NOT_ALLOWED: https:\/\/evil\.example is not an allowed origin \(allowed: http:\/\/localhost:3000, .*\); add it to FRONTEND_URL$/);
  });

  test('WebSocket: the upgrade is answered 403 too, with the same body', async () => {
    const err = await refused('websocket');
    expect(err.message).toBe('websocket error');
    expect(String((err.description as { message?: unknown } | undefined)?.message)).toMatch(/403/);
    const res = await upgrade(FOREIGN);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ code: 4, message: expect.stringMatching(/ORIGIN_NOT_ALLOWED.*FRONTEND_URL/) });
    // An allowed origin still upgrades.
    expect((await upgrade('http://localhost:3000')).status).toBe(101);
  });

  test('the gateway logs (once a minute) the origin it got, the origins it allows and the variable to set', () => {
    const refusals = lines.filter((l) => l.limit === 'origin');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: 40, origin: FOREIGN, allowed: ['http://localhost:3000'], variable: 'FRONTEND_URL' });
    expect(refusals[0]!.msg).toMatch(/not in FRONTEND_URL: add the page's origin .* to FRONTEND_URL/);
  });
});
