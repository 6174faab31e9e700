// What a client learns when something goes wrong: a value out of range is a 400 naming
// the parameter, a failure inside the server is a 500 with a request id and nothing of the
// database's own words; identity answers are never cached.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startApi, type ApiFixture, type TestUser } from './fixture';

let fx: ApiFixture;
let operator: TestUser;
let user: TestUser;

beforeAll(async () => {
  fx = await startApi();
  operator = await fx.user('ops@example.com', { operator: true });
  user = await fx.user('user@example.com');
});
afterAll(async () => {
  await fx?.close();
});

test.each([
  ['/api/outbox?since=99999999999999d', /since: duration "99999999999999d" is longer than 100 years/],
  ['/api/outbox?since=99999-01-01', /since: a duration/],
  ['/api/outbox?until=not-a-time', /until: a duration/],
  ['/api/outbox?fromSeq=1e30', /fromSeq/],
  ['/api/outbox?offset=99999999999', /offset/],
  ['/api/projects?offset=99999999999', /offset/],
])('%s is a 400 naming the parameter, with nothing from the database', async (url, message) => {
  const res = await fx.call('GET', url, undefined, url.startsWith('/api/outbox') ? operator : user);
  expect(res.status).toBe(400);
  expect(res.body.error.message).toMatch(message);
  expect(JSON.stringify(res.body)).not.toMatch(/NaN|syntax|postgres|relation|column/i);
});

test('a failure inside the server is a 500 with a request id and without the database\'s words', async () => {
  // A column the list orders by (rows themselves are read whole, as to_jsonb).
  await fx.sql(`ALTER TABLE data_layers RENAME COLUMN created_at TO created_moved`);
  try {
    const res = await fx.call('GET', '/api/data-layers', undefined, user);
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('INTERNAL');
    expect(res.body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.error.message).toContain(res.body.error.requestId);
    expect(JSON.stringify(res.body)).not.toMatch(/created|column|does not exist|data_layers/i);
  } finally {
    await fx.sql(`ALTER TABLE data_layers RENAME COLUMN created_moved TO created_at`);
  }
});

test('identity answers and tokens are not cached', async () => {
  for (const url of ['/api/auth/me', '/api/realtime/token']) {
    const res = await fx.call('GET', url, undefined, user);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('private, no-store');
  }
  const signIn = await fx.call('POST', '/api/auth/sign-in', { email: user.email, password: user.password });
  expect(signIn.headers['cache-control']).toBe('private, no-store');
});
