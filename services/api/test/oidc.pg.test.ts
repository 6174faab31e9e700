// External identity: a bearer token from an OpenID Connect provider whose JWKS this test
// serves itself. Accepted by the linked subject or a verified email (which links it);
// refused with a reason for a wrong issuer or audience, an expired token, a key the
// provider never published, an unverified email, or a symmetric algorithm.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { startApi, type ApiFixture } from './fixture';

const ISSUER = 'https://id.example.test';
const AUDIENCE = 'realtime-outbox';
let fx: ApiFixture;
let jwks: http.Server;
let signing: CryptoKey;
let stranger: CryptoKey;
let fetches = 0;

let jwksUrl = '';

beforeAll(async () => {
  const published = await generateKeyPair('RS256', { extractable: true });
  signing = published.privateKey;
  ({ privateKey: stranger } = await generateKeyPair('RS256'));
  const jwk = { ...(await exportJWK(published.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = http.createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  fx = await startApi();
});
afterAll(async () => {
  await fx?.close();
  await new Promise((r) => jwks?.close(r));
});

const withProvider = () => startApi({ oidcConfig: { jwksUrl, issuer: ISSUER, audience: AUDIENCE } });

const token = (claims: JWTPayload, opts: { key?: CryptoKey; kid?: string; exp?: string | number; iss?: string; aud?: string } = {}): Promise<string> =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(opts.key ?? signing);

describe('OpenID Connect bearer tokens', () => {
  let api: ApiFixture;
  beforeAll(async () => {
    api = await withProvider();
    await api.sql(`INSERT INTO users (email, name) VALUES ('olga@example.com', 'Olga'), ('pia@example.com', 'Pia')`);
    await api.sql(`UPDATE users SET oidc_subject = 'sub-pia' WHERE email = 'pia@example.com'`);
  });
  afterAll(async () => {
    await api?.close();
  });
  const me = async (bearer: string) => api.call('GET', '/api/auth/me', undefined, null, { authorization: `Bearer ${bearer}` });

  test('a token whose sub is linked is the linked user', async () => {
    const res = await me(await token({ sub: 'sub-pia' }));
    expect(res.status).toBe(200);
    expect(res.body.user.email).toBe('pia@example.com');
    expect(fetches).toBeGreaterThan(0);
  });

  test('a verified email finds the user and links the subject; afterwards the subject alone does', async () => {
    const first = await me(await token({ sub: 'sub-olga', email: 'Olga@Example.com', email_verified: true }));
    expect(first.status).toBe(200);
    expect(first.body.user.email).toBe('olga@example.com');
    const [row] = await api.sql<{ oidc_subject: string }>(`SELECT oidc_subject FROM users WHERE email = 'olga@example.com'`);
    expect(row!.oidc_subject).toBe('sub-olga');
    const again = await me(await token({ sub: 'sub-olga', email: 'new-address@example.com', email_verified: true }));
    expect(again.body.user.email).toBe('olga@example.com');
  });

  test('a bearer user works on the API like a session user, as themselves', async () => {
    const bearer = await token({ sub: 'sub-pia' });
    const created = await api.call('POST', '/api/projects', { name: 'Pia via OIDC' }, null, { authorization: `Bearer ${bearer}` });
    expect(created.status).toBe(201);
    const [row] = await api.sql<{ actor: string }>(`SELECT actor FROM change_outbox WHERE table_name = 'projects' AND row_id = $1`, [created.body.id]);
    expect(row!.actor).toBe('pia@example.com');
  });

  test.each<[string, () => Promise<string>, number, RegExp]>([
    ['a wrong issuer', () => token({ sub: 'sub-pia' }, { iss: 'https://evil.example.test' }), 401, /"iss"/],
    ['a wrong audience', () => token({ sub: 'sub-pia' }, { aud: 'another-app' }), 401, /"aud"/],
    ['an expired token', () => token({ sub: 'sub-pia' }, { exp: Math.floor(Date.now() / 1000) - 60 }), 401, /expired/],
    ['a key the provider never published', () => token({ sub: 'sub-pia' }, { key: stranger, kid: 'k2' }), 401, /no key|refused/],
    ['a key it published under another kid', () => token({ sub: 'sub-pia' }, { key: stranger }), 401, /signature|refused/],
    ['an unverified email', () => token({ sub: 'sub-new', email: 'olga@example.com', email_verified: false }), 403, /no account is linked/],
    ['an unknown verified email', () => token({ sub: 'sub-x', email: 'nobody@example.com', email_verified: true }), 403, /npm run users -- add/],
    ['a symmetric token', () => new SignJWT({ sub: 'sub-pia' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(32))), 401, /refused/],
    ['not a token', async () => 'not-a-token', 401, /refused/],
  ])('%s is refused', async (_n, make, status, message) => {
    const res = await me(await make());
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });

  test('without a provider configured, a bearer token is refused with the variables to set', async () => {
    const res = await fx.call('GET', '/api/auth/me', undefined, null, { authorization: `Bearer ${await token({ sub: 'sub-pia' })}` });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/AUTH_JWKS_URL/);
  });
});
