// TRUST_PROXY names the proxies: X-Forwarded-For is believed from them and from no other
// peer, so a client that reaches the server directly cannot pick the address that the
// per-address sign-in budget counts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiFixture } from './fixture';

const PROXY = '10.9.9.9';
let fx: ApiFixture;

beforeAll(async () => {
  fx = await startApi({ trustProxy: [PROXY] });
});
afterAll(async () => {
  await fx?.close();
});

const guess = (email: string, peer: string, forwardedFor: string) =>
  fx.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email, password: 'wrong-guess' }, remoteAddress: peer, headers: { 'x-forwarded-for': forwardedFor } });

describe('TRUST_PROXY', () => {
  test('a direct client forging X-Forwarded-For is counted by its own address', async () => {
    for (let i = 1; i <= 10; i++) expect((await guess(`direct-${i}@example.com`, '10.5.0.1', `203.0.113.${i}`)).statusCode).toBe(401);
    const refused = await guess('direct-11@example.com', '10.5.0.1', '203.0.113.11');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toMatch(/from this address/);
  });

  test('through the named proxy, each client is counted by the address it forwards', async () => {
    for (let i = 1; i <= 12; i++) expect((await guess(`proxied-${i}@example.com`, PROXY, `198.51.100.${i}`)).statusCode).toBe(401);
    // One client behind the proxy still runs out of its own budget.
    for (let i = 1; i <= 10; i++) expect((await guess(`one-${i}@example.com`, PROXY, '198.51.100.200')).statusCode).toBe(401);
    expect((await guess('one-11@example.com', PROXY, '198.51.100.200')).statusCode).toBe(429);
  });

  test('a client behind the proxy cannot prepend an address of its choosing', async () => {
    // The proxy appends the peer it saw; what the client sent before it is not believed.
    for (let i = 1; i <= 10; i++) expect((await guess(`prepend-${i}@example.com`, PROXY, `192.0.2.${i}, 198.51.100.201`)).statusCode).toBe(401);
    expect((await guess('prepend-11@example.com', PROXY, '192.0.2.99, 198.51.100.201')).statusCode).toBe(429);
  });
});
