import { describe, expect, test } from 'vitest';
import { accountTurn, isWrite, signInKeys, signInVerdict, type Budget } from './keys';

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
  const go = { action: 'go' };
  const slow = { action: 'slow', limit: 'sign_in_email' };
  test.each([
    ['fresh', b(0), b(0), false, go],
    ['nine failures on the email', b(9), b(0), false, go],
    ['ten failures on the email: slowed, not refused', b(10), b(3), false, slow],
    ['ten failures on the email, from a device that signed in to it before', b(10), b(3), true, go],
    ['ten failures from the address', b(2), b(10), false, { action: 'refuse', limit: 'sign_in_ip', retryAfterSeconds: 31 }],
    ['both spent: the address is refused, trusted device or not', b(10), b(10), true, { action: 'refuse', limit: 'sign_in_ip', retryAfterSeconds: 31 }],
    ['nine failures and one in flight', b(9, 1), b(0), false, slow],
    ['a burst in flight from one address', b(0), b(0, 10), false, { action: 'refuse', limit: 'sign_in_ip', retryAfterSeconds: 31 }],
    ['a window about to end still says one second', b(0), b(10, 0, 10), false, { action: 'refuse', limit: 'sign_in_ip', retryAfterSeconds: 1 }],
  ] as const)('%s', (_name, email, ip, trusted, verdict) => {
    expect(signInVerdict({ email, ip }, 10, trusted)).toEqual(verdict);
  });
});

describe('accountTurn', () => {
  const slow = { everyMs: 5000, maxWaitMs: 15_000 };
  test.each([
    ['the first slowed attempt goes at once', undefined, 1000, { waitMs: 0, nextFreeAt: 6000 }],
    ['a turn in the past goes at once', 500, 1000, { waitMs: 0, nextFreeAt: 6000 }],
    ['the next waits its turn', 6000, 1000, { waitMs: 5000, nextFreeAt: 11_000 }],
    ['a turn exactly at the bound still waits', 16_000, 1000, { waitMs: 15_000, nextFreeAt: 21_000 }],
    ['past the bound: refused, told when the queue ends', 16_001, 1000, { retryAfterSeconds: 16 }],
  ] as const)('%s', (_name, nextFreeAt, now, want) => {
    expect(accountTurn(nextFreeAt, now, slow)).toEqual(want);
  });

  test('a burst of ten gets four turns, evenly spaced, and six refusals', () => {
    let next: number | undefined;
    const waits: number[] = [];
    let refused = 0;
    for (let i = 0; i < 10; i++) {
      const t = accountTurn(next, 0, slow);
      if ('waitMs' in t) {
        waits.push(t.waitMs);
        next = t.nextFreeAt;
      } else refused++;
    }
    expect(waits).toEqual([0, 5000, 10_000, 15_000]);
    expect(refused).toBe(6);
  });
});
