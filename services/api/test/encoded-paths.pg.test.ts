// Access is judged by the route that answers, not by the URL's raw text: Fastify decodes
// a percent-encoded path before routing, so /%6Detrics is /metrics and /api/%6Futbox is
// /api/outbox, and each must meet the same check as its plain spelling.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import Fastify from 'fastify';
import { requireMetricsToken } from '@realtime/runtime';
import { METRICS_TOKEN, startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let user: TestUser;
let operator: TestUser;
let web: string;

beforeAll(async () => {
  web = mkdtempSync(path.join(tmpdir(), 'encoded-web-'));
  writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>app</title>');
  fx = await startApi({ webDist: web });
  user = await fx.user('encoded-user@example.com');
  operator = await fx.user('encoded-operator@example.com', { operator: true });
});
afterAll(async () => {
  await fx?.close();
  rmSync(web, { recursive: true, force: true });
});

describe('percent-encoded paths meet the check of the route they reach', () => {
  const cases: [string, string, 'anonymous' | 'user', number][] = [
    ['/metrics spelled %6D, anonymous', '/%6Detrics', 'anonymous', 401],
    ['/status spelled %73, anonymous', '/%73tatus', 'anonymous', 401],
    ['/status spelled %73, a user who is not an operator', '/%73tatus', 'user', 403],
    ['/api/outbox spelled %6F, a user who is not an operator', '/api/%6Futbox', 'user', 403],
    ['/api/outbox/stats spelled %6F, a user who is not an operator', '/api/%6Futbox/stats', 'user', 403],
    ['/api/projects spelled %70, anonymous', '/api/%70rojects', 'anonymous', 401],
  ];
  for (const [name, url, who, status] of cases) {
    test(name, async () => {
      const res = await fx.call('GET', url, undefined, who === 'user' ? user : null);
      expect(res.status).toBe(status);
    });
  }

  test('the metrics token opens /metrics by either spelling', async () => {
    const bearer = { authorization: `Bearer ${METRICS_TOKEN}` };
    expect((await fx.call('GET', '/%6Detrics', undefined, null, bearer)).status).toBe(200);
    expect((await fx.call('GET', '/metrics', undefined, null, bearer)).status).toBe(200);
  });

  test('an /api path no route answers is a JSON 404 by either spelling, never the app’s page', async () => {
    for (const url of ['/api/nothing-here', '/%61pi/nothing-here']) {
      const res = await fx.call('GET', url, undefined, user);
      expect(res.status, url).toBe(404);
      expect(res.body.error.code, url).toBe('NOT_FOUND');
    }
    expect((await fx.call('GET', '/some/page', undefined, null)).status).toBe(200);
  });

  test('an operator still reaches the outbox by either spelling', async () => {
    expect((await fx.call('GET', '/api/%6Futbox/stats', undefined, operator)).status).toBe(200);
    expect((await fx.call('GET', '/api/outbox/stats', undefined, operator)).status).toBe(200);
  });
});

test('the standalone replicator’s METRICS_TOKEN guard holds for encoded spellings too', async () => {
  const app = Fastify();
  requireMetricsToken(app, METRICS_TOKEN);
  app.get('/metrics', async () => 'secret metrics');
  app.get('/status', async () => ({ secret: true }));
  await app.ready();
  try {
    for (const url of ['/metrics', '/%6Detrics', '/%73tatus', '/status?x=1']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
    }
    expect((await app.inject({ method: 'GET', url: '/%6Detrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).statusCode).toBe(200);
  } finally {
    await app.close();
  }
});
