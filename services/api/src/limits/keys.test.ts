import { describe, expect, test } from 'vitest';
import { isWrite, signInKeys, signInVerdict, type Budget } from './keys';

describe('signInKeys', () => {
  test.each([
    ['10.0.0.1', ' Ann@Example.COM ', { email: 'email:ann@example.com', ip: 'ip:10.0.0.1' }],
    ['::ffff:10.0.0.1', 'ann@example.com', { email: 'email:ann@example.com', ip: 'ip:10.0.0.1' }],
    // One /64: a host that owns the prefix cannot step around its budget.
    ['2001:db8:1:2:aaaa::1', 'a@b.c', { email: 'email:a@b.c', ip: 'ip:2001:db8:1:2::' }],
    ['2001:db8:1:2:bbbb::9', 'a@b.c', { email: 'email:a@b.c', ip: 'ip:2001:db8:1:2::' }],
    ['2001:db8:1:3::1', 'a@b.c', { email: 'email:a@b.c', ip: 'ip:2001:db8:1:3::' }],
  ])('%s %j', (ip, email, keys) => {
    expect(signInKeys(ip, email)).toEqual(keys);
  });
});

describe('isWrite', () => {
  test.each([
    ['POST', '/api/projects', true],
    ['PATCH', '/api/projects/:id', true],
    ['DELETE', '/api/projects/1/members/2', true],
    ['PUT', '/api/anything', true],
    ['GET', '/api/projects', false],
    ['HEAD', '/api/projects', false],
    ['POST', '/api/auth/sign-in', false],
    ['POST', '/api/auth/sign-out', false],
    ['POST', '/apix', false],
    ['POST', '/metrics', false],
  ])('%s %s: %s', (method, url, write) => {
    expect(isWrite(method, url)).toBe(write);
  });
});

describe('signInVerdict', () => {
  const b = (used: number, inFlight = 0, ttlMs = 30_500): Budget => ({ used, inFlight, ttlMs });
  test.each([
    ['fresh', b(0), b(0), null],
    ['nine failures on the email', b(9), b(0), null],
    ['ten failures on the email', b(10), b(3), { limit: 'sign_in_email', retryAfterSeconds: 31 }],
    ['ten failures from the address', b(2), b(10), { limit: 'sign_in_ip', retryAfterSeconds: 31 }],
    ['both spent: the email is named', b(10), b(10), { limit: 'sign_in_email', retryAfterSeconds: 31 }],
    ['nine failures and one in flight', b(9, 1), b(0), { limit: 'sign_in_email', retryAfterSeconds: 31 }],
    ['a burst in flight from one address', b(0), b(0, 10), { limit: 'sign_in_ip', retryAfterSeconds: 31 }],
    ['a window about to end still says one second', b(10, 0, 10), b(0), { limit: 'sign_in_email', retryAfterSeconds: 1 }],
  ] as const)('%s', (_name, email, ip, verdict) => {
    expect(signInVerdict({ email, ip }, 10)).toEqual(verdict);
  });
});
