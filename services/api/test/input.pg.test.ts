// What a request may be: JSON only on state-changing routes (a cross-site form cannot
// send it without a preflight), nested no deeper than JSON_DEPTH_LIMIT (answered 400
// before parsing, not 500 after a stack overflow), and every answer that carries a user's
// data is marked uncacheable.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JSON_DEPTH_LIMIT } from '../src/limits/json';
import { startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let owner: TestUser;
let projectId: string;

beforeAll(async () => {
  fx = await startApi();
  owner = await fx.user('owner@example.com');
  const res = await fx.call('POST', '/api/projects', { name: 'P' }, owner);
  expect(res.status).toBe(201);
  projectId = res.body.id;
});
afterAll(async () => {
  await fx?.close();
});

const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

const raw = (method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload: string | undefined, headers: Record<string, string>) =>
  fx.app.inject({ method, url, payload, headers: { cookie: owner.cookie, ...headers } });

async function stillSignedIn(): Promise<boolean> {
  return (await fx.call('GET', '/api/auth/me', undefined, owner)).status === 200;
}

describe('JSON depth', () => {
  test.each([
    ['6,000 deep (the depth that overflowed the stack)', 6000],
    ['4,000 deep (a clone between threads overflows)', 4000],
    ['one past the limit', JSON_DEPTH_LIMIT + 1],
  ])('a body nested %s is a 400 naming the limit, and nothing is written', async (_why, depth) => {
    const before = await fx.sql<{ n: number }>(`SELECT count(*)::int AS n FROM data_layers`);
    const body = `{"projectId":"${projectId}","name":"deep","kind":"vector","source":"s","metadata":{"k":${nested(depth - 2)}}}`;
    const res = await raw('POST', '/api/data-layers', body, { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(new RegExp(`nested deeper than ${JSON_DEPTH_LIMIT} levels`));
    expect(await fx.sql<{ n: number }>(`SELECT count(*)::int AS n FROM data_layers`)).toEqual(before);
  });

  test('a row nested within the limit is written and read back whole', async () => {
    const metadata = JSON.parse(`{"k":${nested(JSON_DEPTH_LIMIT - 2)}}`) as unknown;
    const res = await fx.call('POST', '/api/data-layers', { projectId, name: 'deep enough', kind: 'vector', source: 's', metadata }, owner);
    expect(res.status).toBe(201);
    expect((await fx.call('GET', `/api/data-layers/${res.body.id}`, undefined, owner)).body.metadata).toEqual(metadata);
  });

  test('brackets inside strings do not count', async () => {
    const res = await fx.call('POST', '/api/projects', { name: '['.repeat(500) }, owner);
    expect(res.status).toBe(201);
  });
});

describe('state-changing routes take JSON only', () => {
  test.each([
    ['text/plain (a form with enctype=text/plain)', 'text/plain', '{"name":"from a form"}'],
    ['a urlencoded form', 'application/x-www-form-urlencoded', 'name=from+a+form'],
    ['a multipart form', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nform\r\n--x--\r\n'],
  ])('a POST of %s is refused with 415 and writes nothing', async (_why, type, payload) => {
    const res = await raw('POST', '/api/projects', payload, { 'content-type': type });
    expect(res.statusCode).toBe(415);
    expect(await fx.sql(`SELECT 1 FROM projects WHERE name IN ('from a form', 'form')`)).toEqual([]);
  });

  test.each([
    ['text/plain', { 'content-type': 'text/plain' }, ''],
    ['no type and no body', {}, undefined],
    ['a urlencoded form with no fields', { 'content-type': 'application/x-www-form-urlencoded' }, ''],
  ])('sign-out sent as %s is refused and the session lives on', async (_why, headers, payload) => {
    const res = await raw('POST', '/api/auth/sign-out', payload, headers);
    expect(res.statusCode).toBe(415);
    expect(res.json().error.message).toMatch(/Content-Type: application\/json/);
    expect(await stillSignedIn()).toBe(true);
  });

  test('a percent-encoded path is judged as the route it reaches', async () => {
    const res = await raw('POST', '/%61pi/auth/sign-out', '', { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(415);
    expect(await stillSignedIn()).toBe(true);
  });

  test('a PATCH in text/plain is refused; the same in JSON applies', async () => {
    const bad = await raw('PATCH', `/api/projects/${projectId}`, '{"name":"renamed"}', { 'content-type': 'text/plain' });
    expect(bad.statusCode).toBe(415);
    const good = await raw('PATCH', `/api/projects/${projectId}`, '{"name":"renamed"}', { 'content-type': 'application/json; charset=utf-8' });
    expect(good.statusCode).toBe(200);
  });

  test('sign-out in JSON, with an empty body, ends the session', async () => {
    const other = await fx.user('leaving@example.com');
    const res = await fx.app.inject({ method: 'POST', url: '/api/auth/sign-out', headers: { cookie: other.cookie, 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(204);
    expect((await fx.call('GET', '/api/auth/me', undefined, other)).status).toBe(401);
  });
});

describe('Cache-Control', () => {
  test.each([
    ['a list', 'GET', '/api/projects'],
    ['a row', 'GET', () => `/api/projects/${projectId}`],
    ['who is signed in', 'GET', '/api/auth/me'],
    ['a stream token', 'GET', '/api/realtime/token'],
    ['members', 'GET', () => `/api/projects/${projectId}/members`],
    ['a refusal', 'GET', '/api/projects/00000000-0000-0000-0000-000000000000'],
  ] as const)('%s is private and not stored', async (_why, method, url) => {
    const res = await fx.call(method, typeof url === 'function' ? url() : url, undefined, owner);
    expect(res.headers['cache-control']).toBe('private, no-store');
  });

  test('the outbox, for an operator', async () => {
    const operator = await fx.user('ops@example.com', { operator: true });
    const res = await fx.call('GET', '/api/outbox?limit=1', undefined, operator);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('private, no-store');
  });
});
