import { describe, expect, test } from 'vitest';
import { counterReply, leaseExpiry, leaseMember, leaseSetKey, limitKey, renewEveryMs } from './keys';

describe('key naming', () => {
  test.each([
    ['realtime', 'user:42', 'realtime:limit:user:42'],
    ['{realtime}', 'email:a@b.example', '{realtime}:limit:email:a@b.example'],
    ['app-1', 'ip:10.0.0.0/64', 'app-1:limit:ip:10.0.0.0/64'],
  ])('limitKey(%j, %j)', (prefix, key, want) => {
    expect(limitKey(prefix, key)).toBe(want);
  });

  test.each([
    ['realtime', 'sockets', 'u1', 'realtime:sockets:u1'],
    ['realtime', 'attempts', 'ip:127.0.0.1', 'realtime:attempts:ip:127.0.0.1'],
  ])('leaseSetKey(%j, %j, %j)', (prefix, set, owner, want) => {
    expect(leaseSetKey(prefix, set, owner)).toBe(want);
  });

  test('a member names its process, so two processes\' socket ids never meet', () => {
    expect(leaseMember('p1', 'abc')).toBe('p1:abc');
    expect(leaseMember('p1', 'abc')).not.toBe(leaseMember('p2', 'abc'));
  });
});

describe('lease arithmetic', () => {
  test.each([
    [1000, 30_000, 31_000],
    [0, 1, 1],
  ])('leaseExpiry(%d, %d) = %d', (now, lease, want) => {
    expect(leaseExpiry(now, lease)).toBe(want);
  });

  test.each([
    [30_000, 10_000],
    [1000, 333],
    [90, 100],
  ])('renewEveryMs(%d) = %d: three renewals a lease, never a busy loop', (lease, want) => {
    expect(renewEveryMs(lease)).toBe(want);
  });
});

describe('counterReply', () => {
  test.each([
    [3, 59_000, { current: 3, ttl: 59_000 }],
    [1, -1, { current: 1, ttl: 0 }],
    [0, -2, { current: 0, ttl: 0 }],
  ])('(%d, %d)', (current, pttl, want) => {
    expect(counterReply(current, pttl)).toEqual(want);
  });
});
