import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { webcrypto } from 'node:crypto';
import { SignJWT } from 'jose';
import { signToken, signUserToken, TOKEN_AUDIENCE, TOKEN_ISSUER, TokenError, verifyToken } from '../src/token';

/** A token made by hand: the right issuer and audience unless told otherwise, no expiry unless set. */
const minted = (claims: Record<string, unknown>, iss = TOKEN_ISSUER, aud = TOKEN_AUDIENCE) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(iss).setAudience(aud);

const secret = new TextEncoder().encode('a'.repeat(32));
const other = new TextEncoder().encode('b'.repeat(32));
const grant = { channels: ['extraction_jobs'], projects: ['A'] };

// jose reads the time from Date: a fixed clock makes every expiry exact.
const NOW_S = 1_780_000_000;

describe('tokens', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW_S * 1000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('a signed token verifies to its grant', async () => {
    const v = await verifyToken(secret, await signToken(secret, grant, { subject: 'alice' }));
    expect(v.principal).toEqual({ kind: 'service', grant });
    expect(v.subject).toBe('alice');
    expect(v.expiresAt).toBe(NOW_S + 3600);
  });

  test('the secret is imported once, however many tokens it verifies', async () => {
    const fresh = new TextEncoder().encode('c'.repeat(32));
    const importKey = vi.spyOn(webcrypto.subtle, 'importKey');
    try {
      const token = await signToken(fresh, grant);
      const forged = await signToken(other, grant);
      const before = importKey.mock.calls.length;
      for (let i = 0; i < 5; i++) expect((await verifyToken(fresh, token)).principal).toEqual({ kind: 'service', grant });
      await expect(verifyToken(fresh, forged)).rejects.toThrow(/not valid/);
      expect(importKey.mock.calls.length - before).toBe(1);
    } finally {
      importKey.mockRestore();
    }
  });

  test.each([
    ['no token', async () => undefined, /no token/],
    ['not a string', async () => 42, /no token/],
    ['garbage', async () => 'abc.def.ghi', /not valid/],
    ['another secret', async () => signToken(other, grant), /not valid/],
    ['expired', async () => minted({ ...grant }).setExpirationTime(NOW_S - 10).sign(secret), /expired/],
    ['no grant', async () => minted({ foo: 1 }).setExpirationTime('1h').sign(secret), /no grant/],
    ['no expiry', async () => minted({ ...grant }).sign(secret), /no expiry/],
    ['a user token without expiry', async () => minted({ uid: '00000000-0000-4000-8000-000000000000' }).sign(secret), /no expiry/],
    ['a user token living an hour', async () => minted({ uid: '00000000-0000-4000-8000-000000000000' }).setExpirationTime('1h').sign(secret), /lives longer than 900 s/],
    ['a service token living a week', async () => minted({ ...grant }).setExpirationTime('7d').sign(secret), /lives longer than 86400 s/],
    ['another issuer', async () => minted({ ...grant }, 'someone-else').setExpirationTime('1h').sign(secret), /"iss" claim is wrong/],
    ['another audience', async () => minted({ ...grant }, TOKEN_ISSUER, 'another-service').setExpirationTime('1h').sign(secret), /"aud" claim is wrong/],
    ['alg none', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(grant)).toString('base64url')}.`, /not valid/],
  ])('%s is refused', async (_name, make, message) => {
    const token = await make();
    await expect(verifyToken(secret, token)).rejects.toThrow(TokenError);
    await expect(verifyToken(secret, token)).rejects.toThrow(message);
  });

  test('a user token verifies to its user, with at most 15 minutes to live', async () => {
    const v = await verifyToken(secret, await signUserToken(secret, '00000000-0000-4000-8000-000000000000', 3600));
    expect(v.principal).toEqual({ kind: 'user', userId: '00000000-0000-4000-8000-000000000000', sessionId: null });
    expect(v.expiresAt).toBe(NOW_S + 900);
  });

  test('a user token issued for a session names it, and a malformed session id is refused', async () => {
    const uid = '00000000-0000-4000-8000-000000000000';
    const sid = '11111111-1111-4111-8111-111111111111';
    const v = await verifyToken(secret, await signUserToken(secret, uid, 900, sid));
    expect(v.principal).toEqual({ kind: 'user', userId: uid, sessionId: sid });
    const forged = await minted({ uid, sid: 'not-a-session' }).setExpirationTime('10m').sign(secret);
    await expect(verifyToken(secret, forged)).rejects.toThrow(TokenError);
  });
});
