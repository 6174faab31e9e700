import { describe, expect, test } from 'vitest';
import { afterWalFailure, classifyWalError } from './mode';

describe('classifyWalError', () => {
  test.each([
    [{ message: 'logical decoding requires wal_level >= logical', code: '55000' }, 'unavailable'],
    [{ message: 'replication slot "x" could not be created: wal_level is insufficient' }, 'unavailable'],
    [{ message: 'permission denied to start WAL sender', code: '42501' }, 'unavailable'],
    [{ message: 'must be superuser or replication role to use replication slots', code: '42501' }, 'unavailable'],
    [{ message: 'can no longer get changes from replication slot "realtime_outbox"', code: '55000' }, 'slot-lost'],
    [{ message: 'This slot has been invalidated because it exceeded the maximum reserved size.' }, 'slot-lost'],
    [{ message: 'replication slot "realtime_outbox" does not exist', code: '42704' }, 'slot-lost'],
    [{ message: 'replication slot "realtime_outbox" is active for PID 4242', code: '55006' }, 'slot-busy'],
    [{ message: 'Connection terminated unexpectedly' }, 'stream'],
    [new Error('connect ECONNREFUSED 127.0.0.1:5432'), 'stream'],
    ['a bare string', 'stream'],
    [null, 'stream'],
  ] as const)('%j → %s', (err, kind) => {
    expect(classifyWalError(err)).toBe(kind);
  });
});

describe('afterWalFailure', () => {
  const opts = { maxFailures: 3, reconnectMs: 1000 };
  test.each([
    ['unavailable falls back at once', 'unavailable', 0, { action: 'fallback', failures: 0, delayMs: 0 }],
    ['a lost slot falls back at once', 'slot-lost', 1, { action: 'fallback', failures: 0, delayMs: 0 }],
    ['a busy slot is retried without counting', 'slot-busy', 2, { action: 'retry-wal', failures: 2, delayMs: 1000 }],
    ['a first stream failure is retried after 1 s', 'stream', 0, { action: 'retry-wal', failures: 1, delayMs: 1000 }],
    ['a second one too', 'stream', 1, { action: 'retry-wal', failures: 2, delayMs: 1000 }],
    ['the third in a row falls back', 'stream', 2, { action: 'fallback', failures: 0, delayMs: 0 }],
  ] as const)('%s', (_name, kind, failures, decision) => {
    expect(afterWalFailure(kind, failures, opts)).toEqual(decision);
  });
});
