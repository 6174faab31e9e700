import { describe, expect, test } from 'vitest';
import { refreshDelay, sessionCookie } from './users';

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
