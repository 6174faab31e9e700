import { describe, expect, test } from 'vitest';
import { SignJWT } from 'jose';
import { signToken, TokenError, verifyToken } from './token';

const secret = new TextEncoder().encode('a'.repeat(32));
const other = new TextEncoder().encode('b'.repeat(32));
const grant = { channels: ['extraction_jobs'], projects: ['A'] };

describe('tokens', () => {
  test('a signed token verifies to its grant', async () => {
    const v = await verifyToken(secret, await signToken(secret, grant, { subject: 'alice' }));
    expect(v.principal).toEqual({ kind: 'service', grant });
    expect(v.subject).toBe('alice');
    expect(v.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  test.each([
    ['no token', async () => undefined, /no token/],
    ['not a string', async () => 42, /no token/],
    ['garbage', async () => 'abc.def.ghi', /not valid/],
    ['another secret', async () => signToken(other, grant), /not valid/],
    ['expired', async () => new SignJWT({ ...grant }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(secret), /expired/],
    ['no grant', async () => new SignJWT({ foo: 1 }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(secret), /no grant/],
    ['alg none', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(grant)).toString('base64url')}.`, /not valid/],
  ])('%s is refused', async (_name, make, message) => {
    const token = await make();
    await expect(verifyToken(secret, token)).rejects.toThrow(TokenError);
    await expect(verifyToken(secret, token)).rejects.toThrow(message);
  });
});
