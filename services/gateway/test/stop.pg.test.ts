// Stopping while a client keeps a keep-alive connection busy (a load balancer's upstream
// pool, a client retrying in a loop): the stop ends, the busy connection closed after the
// grace, instead of waiting for the client to go away. `npm start` shares this HTTP
// server between the gateway and the API's routes, so the API's requests are these.
import http from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { createTestDatabase } from '@realtime/db/testing';
import { STOP_GRACE_MS } from '../src/gateway';
import { startGateway } from './helpers';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

test('a keep-alive connection kept busy does not hold the stop: closed after the grace', async () => {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const gw = await startGateway(db.url);
  cleanups.push(() => gw.stop());
  // An API route that takes a little while, as the API's writes do.
  gw.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url?.startsWith('/ws')) return;
    setTimeout(() => res.end('ok'), 20);
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let answered = 0;
  let failed = 0;
  let going = true;
  const loop = (async () => {
    while (going) {
      await new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: gw.port, path: '/busy', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            answered++;
            resolve();
          });
        });
        req.on('error', () => {
          failed++;
          resolve();
        });
      });
      if (failed > 0) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  expect(answered).toBeGreaterThan(3);
  const stopped = gw.gateway.stop().then(() => 'stopped' as const);
  const outcome = await Promise.race([stopped, new Promise<'hung'>((r) => setTimeout(() => r('hung'), STOP_GRACE_MS + 10_000))]);
  going = false;
  await loop;
  agent.destroy();
  expect(outcome).toBe('stopped');
  // Nothing is served any more: the server is closed, not kept open for the busy client.
  const after = await new Promise<string>((resolve) => {
    http.get({ host: '127.0.0.1', port: gw.port, path: '/busy' }, () => resolve('answered')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  expect(after).toBe('ECONNREFUSED');
}, 40_000);
