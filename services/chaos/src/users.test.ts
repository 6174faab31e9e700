import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { refreshDelay, serviceToken, sessionCookie, signJwt } from './users';

describe('signJwt', () => {
  test('the HS256 example of RFC 7515 (appendix A.1)', () => {
    const key = Buffer.from('AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow', 'base64url');
    const jws = signJwt('{"typ":"JWT",\r\n "alg":"HS256"}', '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}', key);
    expect(jws).toBe(
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    );
  });
});

describe('serviceToken', () => {
  test('carries the grant, issued now, expiring after its lifetime, signed with the secret', () => {
    const secret = 'a-secret-of-at-least-thirty-two-characters';
    const token = serviceToken(secret, { channels: ['*'], projects: ['*'] }, 1_700_000_000_500, 600);
    const [h, p, sig] = token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'HS256' });
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({ channels: ['*'], projects: ['*'], iat: 1_700_000_000, exp: 1_700_000_600 });
    expect(sig).toBe(createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url'));
  });
});

describe('refreshDelay', () => {
  const t0 = 1_000_000;
  test.each([
    { name: 'a 60 s token: 20 s before it ends', issued: t0, expires: t0 + 60_000, now: t0, want: 40_000 },
    { name: 'a 15 min token: a third of its life before it ends', issued: t0, expires: t0 + 900_000, now: t0, want: 600_000 },
    { name: 'fetched late: what is left', issued: t0, expires: t0 + 60_000, now: t0 + 30_000, want: 10_000 },
    { name: 'past the renewal point: a second from now', issued: t0, expires: t0 + 60_000, now: t0 + 50_000, want: 1000 },
    { name: 'already expired: a second from now', issued: t0, expires: t0 + 60_000, now: t0 + 70_000, want: 1000 },
  ])('$name', ({ issued, expires, now, want }) => {
    expect(refreshDelay(issued, expires, now)).toBe(want);
  });
});

describe('sessionCookie', () => {
  test.each([
    { name: 'the cookie among others', headers: ['other=1; Path=/', 'rt_session=abc-DEF_1; Max-Age=1209600; Path=/; HttpOnly; SameSite=Lax'], want: 'rt_session=abc-DEF_1' },
    { name: 'none set', headers: ['other=1'], want: null },
    { name: 'cleared (empty value)', headers: ['rt_session=; Max-Age=0'], want: null },
    { name: 'a name that only ends like it', headers: ['xrt_session=1'], want: null },
  ])('$name', ({ headers, want }) => {
    expect(sessionCookie(headers)).toBe(want);
  });
});
