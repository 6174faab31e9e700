// The API's budgets across processes (REDIS_URL): two API processes, as `npm run api`
// composes them (ApiService on its own HTTP server), on one database and one redis-server.
// The write budget and the sign-in failure budget spent on one are spent on the other
// (429 with Retry-After); with Redis killed each counts its own (one warning each, no 500);
// with Redis back they share again.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { buildHttp, createLogger, HEALTHY, HTTP_LIMIT_DEFAULTS } from '@realtime/runtime';
import { SharedRedis } from '@realtime/shared-limits';
import { startRedis, waitFor, type RunningRedis } from '@realtime/testkit';
import { loadApiToolEnv } from '../src/env';
import { ApiService } from '../src/service';
import { hashPassword } from '../src/auth/password';
import { secret } from './fixture';

const WRITES = 3;
const lines: string[] = [];
const log = createLogger('info', {}, { sink: (line) => lines.push(line) });
let db: TestDatabase;
let pool: pg.Pool;
let redis: RunningRedis;

interface ApiProcess {
  app: FastifyInstance;
  shared: SharedRedis;
  stop(): Promise<void>;
}

async function answering(r: SharedRedis): Promise<void> {
  await waitFor(async () => (await r.run((c) => c.ping())) === 'PONG', { what: 'Redis to answer' });
}

async function apiProcess(): Promise<ApiProcess> {
  const shared = new SharedRedis({ url: redis.url, prefix: 'api-test', log });
  shared.start();
  await answering(shared);
  const settings = { ...loadApiToolEnv({}), WRITES_PER_MINUTE: WRITES };
  const api = new ApiService({ pool, demoPool: null, log, settings, secret, metricsToken: undefined, webDist: '/nonexistent', sharedLimits: shared });
  const app = buildHttp({ log, health: () => HEALTHY, status: async () => ({ process: null }), trustProxy: false, limits: HTTP_LIMIT_DEFAULTS, prepare: (a) => api.prepare(a) });
  await api.mount(app);
  await app.ready();
  await api.start();
  return {
    app,
    shared,
    async stop() {
      await api.stop();
      await app.close();
      await shared.close();
    },
  };
}

let a: ApiProcess;
let b: ApiProcess;
let n = 0;

/** A user with a password, and the session cookie of a sign-in on `a` (sessions are in the database: good on both). */
async function someone(): Promise<string> {
  const email = `user${++n}@example.com`;
  await pool.query(`INSERT INTO users (email, name, password_hash) VALUES ($1, 'U', $2)`, [email, await hashPassword('a-long-enough-password')]);
  const res = await a.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email, password: 'a-long-enough-password' }, remoteAddress: '10.9.9.9' });
  expect(res.statusCode).toBe(200);
  return String(res.headers['set-cookie']).split(';')[0]!;
}

function write(p: ApiProcess, cookie: string) {
  return p.app.inject({ method: 'POST', url: '/api/projects', payload: { name: `p${++n}` }, headers: { cookie, 'content-type': 'application/json' } });
}

function wrongSignIn(p: ApiProcess, ip: string) {
  return p.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email: `nobody${++n}@example.com`, password: 'not-the-password' }, remoteAddress: ip });
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  redis = await startRedis();
  a = await apiProcess();
  b = await apiProcess();
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await pool?.end();
  await db?.drop();
  await redis?.stop();
});

describe('shared', () => {
  test(`WRITES_PER_MINUTE=${WRITES}: writes on both processes spend one budget; the next is refused on either`, async () => {
    const cookie = await someone();
    expect((await write(a, cookie)).statusCode).toBe(201);
    expect((await write(b, cookie)).statusCode).toBe(201);
    expect((await write(a, cookie)).statusCode).toBe(201);
    for (const p of [a, b]) {
      const refused = await write(p, cookie);
      expect(refused.statusCode).toBe(429);
      expect(refused.json().error.message).toMatch(/^too many writes: at most 3 a minute per user \(WRITES_PER_MINUTE\); try again in \d+ s$/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  test('sign-in: ten failures from one address, spread over both processes, spend its budget on both', async () => {
    const ip = '10.1.2.3';
    for (let i = 0; i < 10; i++) expect((await wrongSignIn(i % 2 === 0 ? a : b, ip)).statusCode).toBe(401);
    for (const p of [a, b]) {
      const refused = await wrongSignIn(p, ip);
      expect(refused.statusCode).toBe(429);
      expect(refused.json().error.message).toMatch(/^too many failed sign-ins from this address: try again in \d+ s$/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Another address has its own budget.
    expect((await wrongSignIn(b, '10.1.2.4')).statusCode).toBe(401);
  });

  test('sign-in: a parallel burst from one address over both processes gets no more than the budget', async () => {
    const ip = '10.5.5.5';
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => wrongSignIn(i % 2 === 0 ? a : b, ip)));
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
  });
});

describe('Redis away', () => {
  test('each process counts its own, one warning each, no 500; Redis back: shared again', async () => {
    const cookie = await someone();
    const from = lines.length;
    await redis.kill();
    // Per process: each takes WRITES, then refuses.
    for (const p of [a, b]) {
      for (let i = 0; i < WRITES; i++) expect((await write(p, cookie)).statusCode).toBe(201);
      expect((await write(p, cookie)).statusCode).toBe(429);
    }
    const ip = '10.7.7.7';
    for (let i = 0; i < 10; i++) expect((await wrongSignIn(a, ip)).statusCode).toBe(401);
    expect((await wrongSignIn(a, ip)).statusCode).toBe(429);
    const warnings = () => lines.slice(from).filter((l) => l.includes('Redis (REDIS_URL) does not answer'));
    await waitFor('a warning from each process', () => warnings().length >= 2);
    expect(lines.slice(from).some((l) => /"level":50|"statusCode":500/.test(l))).toBe(false);

    await redis.restart();
    await Promise.all([answering(a.shared), answering(b.shared)]);
    await waitFor('each process to say Redis answers again', () => lines.slice(from).filter((l) => l.includes('answers again')).length >= 2);
    expect(warnings()).toHaveLength(2);
    // The restarted Redis is empty: a fresh shared budget, spent across both again.
    const other = await someone();
    expect((await write(a, other)).statusCode).toBe(201);
    expect((await write(b, other)).statusCode).toBe(201);
    expect((await write(a, other)).statusCode).toBe(201);
    expect((await write(b, other)).statusCode).toBe(429);
  });
});
