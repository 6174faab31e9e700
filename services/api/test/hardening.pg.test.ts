// Every client has a bounded cost: a slow sender is cut off, a large body refused, a text
// field bounded, guessed passwords and writes rate-limited (each counted for operators),
// and every answer carries the security headers the web app is built to pass.
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { METRICS_TOKEN, startApi, type ApiFixture, type TestUser } from './fixture';

const TIMEOUT_MS = 1000;
const WRITES = 5;
/** A slowed account's pace, short for the test; npm start's is SLOW_DOWN_DEFAULTS. */
const SLOW = { everyMs: 300, maxWaitMs: 900 };

let fx: ApiFixture;
let port: number;
let web: string;

beforeAll(async () => {
  web = mkdtempSync(path.join(tmpdir(), 'hardening-web-'));
  writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>app</title>');
  fx = await startApi({ http: { requestTimeoutMs: TIMEOUT_MS }, limits: { writesPerMinute: WRITES }, webDist: web, signInSlowDown: SLOW });
  await fx.app.listen({ port: 0, host: '127.0.0.1' });
  port = (fx.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await fx?.close();
  rmSync(web, { recursive: true, force: true });
});

let n = 0;
/** A user of their own per test, so that one test's write budget is not another's. */
const someone = () => fx.user(`user-${++n}@example.com`);

const signIn = (email: string, password: string, ip: string) =>
  fx.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email, password }, remoteAddress: ip });

async function limitedCount(limit: string): Promise<number> {
  const res = await fx.call('GET', '/metrics', undefined, null, { authorization: `Bearer ${METRICS_TOKEN}` });
  const m = new RegExp(`^realtime_http_limited_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(String(res.body));
  return m ? Number(m[1]) : 0;
}

/** Sends `head` (and nothing more) on a raw connection; what came back and when the server closed it. */
async function stall(head: string): Promise<{ answer: string; closedAfterMs: number }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  socket.on('error', () => undefined);
  const started = Date.now();
  socket.write(head);
  await once(socket, 'close');
  return { answer, closedAfterMs: Date.now() - started };
}

describe('slow clients', () => {
  test.each([
    ['a body that stops half way', (cookie: string) => `POST /api/projects HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":"sl`],
    ['headers that never end', (cookie: string) => `GET /api/projects HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nX-Slow: 1`],
  ])('%s: closed with 408 at the deadline', async (_name, head) => {
    const before = await limitedCount('timeout');
    const user = await someone();
    const { answer, closedAfterMs } = await stall(head(user.cookie));
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(body.error).toEqual({ code: 'REQUEST_TIMEOUT', message: expect.stringContaining(`${TIMEOUT_MS} ms (HTTP_REQUEST_TIMEOUT_MS)`) });
    // Node looks for late requests every tenth of the deadline.
    expect(closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(closedAfterMs).toBeLessThan(TIMEOUT_MS * 2);
    expect(await limitedCount('timeout')).toBe(before + 1);
  });

  test('headers over 16 KB are a 431, counted', async () => {
    const before = await limitedCount('header_size');
    const { answer } = await stall(`GET /api/projects HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain('HEADERS_TOO_LARGE');
    expect(await limitedCount('header_size')).toBe(before + 1);
  });

  test('a request that arrives in time is answered however long the handler takes', async () => {
    const user = await someone();
    const res = await fetch(`http://127.0.0.1:${port}/api/projects`, { headers: { cookie: user.cookie } });
    expect(res.status).toBe(200);
  });
});

describe('body size', () => {
  test('a body over the limit is a 413 in the error shape, counted', async () => {
    const user = await someone();
    const before = await limitedCount('body_size');
    const res = await fx.call('POST', '/api/projects', { name: 'x'.repeat(300_000) }, user);
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('at most 262144 bytes (HTTP_BODY_LIMIT_BYTES)') } });
    expect(await limitedCount('body_size')).toBe(before + 1);
  });

  test('refused from its Content-Length, before it is sent', async () => {
    const user = await someone();
    const { answer } = await stall(`POST /api/projects HTTP/1.1\r\nHost: x\r\nCookie: ${user.cookie}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('PAYLOAD_TOO_LARGE');
  });
});

describe('text fields', () => {
  test('a name of 10,001 characters is a 400 naming it; 10,000 are accepted', async () => {
    const user = await someone();
    const over = await fx.call('POST', '/api/projects', { name: 'n'.repeat(10_001) }, user);
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain('name: at most 10000 characters');
    const at = await fx.call('POST', '/api/projects', { name: 'n'.repeat(10_000) }, user);
    expect(at.status).toBe(201);
    expect(at.body.name).toHaveLength(10_000);
    const patch = await fx.call('PATCH', `/api/projects/${at.body.id}`, { description: 'd'.repeat(10_001) }, user);
    expect(patch.status).toBe(400);
    expect(patch.body.error.message).toContain('description: at most 10000 characters');
  });

  test('a jsonb field is bounded by its serialized size', async () => {
    const user = await someone();
    const project = await fx.call('POST', '/api/projects', { name: 'layers' }, user);
    const layer = { projectId: project.body.id, name: 'l', kind: 'vector', source: 's' };
    const over = await fx.call('POST', '/api/data-layers', { ...layer, metadata: { k: 'x'.repeat(10_000) } }, user);
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain('metadata: at most 10000 characters as JSON');
    const ok = await fx.call('POST', '/api/data-layers', { ...layer, metadata: { k: 'x'.repeat(9_000) } }, user);
    expect(ok.status).toBe(201);
  });
});

describe('sign-in', () => {
  /** The cookie a successful sign-in leaves for its account (the browser is then a trusted device). */
  const deviceCookie = (res: { headers: Record<string, unknown> }): string => {
    const set = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
    const c = set.find((v) => v.startsWith('realtime_device='));
    if (!c) throw new Error(`no device cookie in ${JSON.stringify(set)}`);
    return c.split(';')[0]!;
  };
  const signInWith = (email: string, password: string, ip: string, cookie: string) =>
    fx.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email, password }, remoteAddress: ip, headers: { cookie } });

  test('ten failures for one email, from ten addresses: the account is slowed, not locked', async () => {
    const victim = await fx.user('victim@example.com');
    const known = deviceCookie(await signIn(victim.email, victim.password, '10.1.1.1'));
    const before = await limitedCount('sign_in_email');
    for (let i = 1; i <= 10; i++) expect((await signIn(victim.email, 'wrong-guess', `10.1.0.${i}`)).statusCode).toBe(401);
    // Guesses from anywhere now take turns: a few get one, the queue past SLOW.maxWaitMs is refused.
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => signIn('Victim@Example.com', 'wrong-guess', `10.1.2.${i}`)));
    const turns = 1 + Math.floor(SLOW.maxWaitMs / SLOW.everyMs);
    expect(burst.filter((r) => r.statusCode === 401)).toHaveLength(turns);
    const refused = burst.filter((r) => r.statusCode === 429);
    expect(refused).toHaveLength(10 - turns);
    expect(refused[0]!.json().error).toEqual({
      code: 'TOO_MANY_REQUESTS',
      message: expect.stringMatching(/^too many failed sign-ins for this email: it takes one attempt every \d+ s for now \(a browser that signed in to it before is not slowed\); try again in \d+ s$/),
    });
    expect(Number(refused[0]!.headers['retry-after'])).toBeGreaterThan(0);
    // Its owner, on a browser that signed in before, is not slowed at all, from any address.
    expect((await signInWith(victim.email, victim.password, '10.1.3.1', known)).statusCode).toBe(200);
    // A forged or foreign device cookie counts for nothing.
    const other = await fx.user('bystander@example.com');
    const foreign = deviceCookie(await signIn(other.email, other.password, '10.1.1.2'));
    const forged = `realtime_device=${encodeURIComponent('victim@example.com.forged-signature')}`;
    for (const cookie of [foreign, forged]) {
      expect([429, 401]).toContain((await signInWith(victim.email, 'wrong-guess', '10.1.3.2', cookie)).statusCode);
    }
    // On a new browser the right password gets in once its turn comes: slowed, never locked out.
    let status = 0;
    for (let i = 0; status !== 200 && i < 50; i++) {
      const res = await signIn(victim.email, victim.password, `10.1.4.${i}`);
      status = res.statusCode;
      if (status === 429) await new Promise((r) => setTimeout(r, Number(res.headers['retry-after']) * 1000));
    }
    expect(status).toBe(200);
    // Those addresses are not spent: they failed once each.
    expect((await signIn(other.email, other.password, '10.1.0.1')).statusCode).toBe(200);
    expect(await limitedCount('sign_in_email')).toBeGreaterThan(before);
  });

  test('ten failures from one address, over ten emails: the eleventh is 429, whatever the email', async () => {
    const user = await fx.user('sprayed@example.com');
    const before = await limitedCount('sign_in_ip');
    for (let i = 1; i <= 10; i++) expect((await signIn(`guess-${i}@example.com`, 'wrong-guess', '10.2.0.1')).statusCode).toBe(401);
    const refused = await signIn('guess-11@example.com', 'wrong-guess', '10.2.0.1');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toMatch(/^too many failed sign-ins from this address: try again in \d+ s$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await signIn(user.email, user.password, '10.2.0.1')).statusCode).toBe(429);
    // The emails are not spent, and another address signs in.
    expect((await signIn(user.email, user.password, '10.2.0.2')).statusCode).toBe(200);
    expect(await limitedCount('sign_in_ip')).toBe(before + 2);
  });

  test('successful sign-ins spend nothing', async () => {
    const user = await fx.user('often@example.com');
    for (let i = 0; i < 15; i++) expect((await signIn(user.email, user.password, '10.3.0.1')).statusCode).toBe(200);
  });

  test('a parallel burst gets no more guesses than a sequential one', async () => {
    const user = await fx.user('burst@example.com');
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => signIn(user.email, 'wrong-guess', `10.4.${i}.1`)));
    const statuses = answers.map((a) => a.statusCode).sort();
    // The budget's ten, then the slowed account's turns that fit in the queue.
    const guesses = 10 + 1 + Math.floor(SLOW.maxWaitMs / SLOW.everyMs);
    expect(statuses.filter((s) => s === 401)).toHaveLength(guesses);
    expect(statuses.filter((s) => s === 429)).toHaveLength(25 - guesses);
  });
});

describe('writes', () => {
  test(`over ${WRITES} writes a minute, a user gets 429; reads and other users go on`, async () => {
    const [user, other] = [await someone(), await someone()];
    const before = await limitedCount('writes');
    for (let i = 0; i < WRITES; i++) expect((await fx.call('POST', '/api/projects', { name: `p${i}` }, user)).status).toBe(201);
    const refused = await fx.call('POST', '/api/projects', { name: 'one too many' }, user);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toEqual({ code: 'TOO_MANY_REQUESTS', message: expect.stringMatching(new RegExp(`^too many writes: at most ${WRITES} a minute per user \\(WRITES_PER_MINUTE\\); try again in \\d+ s$`)) });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    const id = (await fx.call('GET', '/api/projects', undefined, user)).body.items[0].id;
    expect((await fx.call('DELETE', `/api/projects/${id}`, undefined, user)).status).toBe(429);
    expect((await fx.call('GET', '/api/projects', undefined, user)).status).toBe(200);
    expect((await fx.call('POST', '/api/projects', { name: 'mine' }, other)).status).toBe(201);
    expect(await limitedCount('writes')).toBe(before + 2);
  });
});

describe('security headers', () => {
  const expectHeaders = (headers: Record<string, unknown>) => {
    const csp = String(headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/);
    expect(csp).not.toContain('unsafe');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(headers['strict-transport-security']).toBe('max-age=31536000');
  };

  test.each([
    ['the app', '/', 200, false],
    ['a page URL', '/projects/1', 200, false],
    ['an API list', '/api/projects', 200, true],
    ['an API 401', '/api/projects', 401, false],
    ['an API 404', '/api/nothing-here', 404, true],
    ['health', '/healthz', 200, false],
  ])('%s (%s)', async (_name, url, status, signedIn) => {
    const user = signedIn ? await someone() : null;
    const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers: user ? { cookie: user.cookie } : {} });
    expect(res.status).toBe(status);
    expectHeaders(Object.fromEntries(res.headers));
  });

  test('identity answers stay uncached', async () => {
    const user = await someone();
    const res = await fx.call('GET', '/api/realtime/token', undefined, user);
    expect(res.headers['cache-control']).toBe('private, no-store');
    expect(res.headers['content-security-policy']).toBeDefined();
  });
});
