import { describe, expect, test } from 'vitest';
import { health } from './http';
import type { Replicator, ReplicatorStatus } from './replicator';

const replicator = (s: Partial<ReplicatorStatus>) => ({ status: () => ({ role: 'leader', mode: 'wal', reason: null, ...s }) }) as unknown as Replicator;

describe('health', () => {
  test.each([
    ['not migrated', false, replicator({}), { ok: false, reason: 'the database is not migrated yet' }],
    ['no replicator yet', true, null, { ok: false, reason: 'the replicator has not started' }],
    ['leader in WAL mode', true, replicator({ mode: 'wal' }), { ok: true, reason: null }],
    ['leader in NOTIFY mode', true, replicator({ mode: 'notify', reason: 'wal_level is replica, not logical' }), { ok: true, reason: null }],
    ['standby', true, replicator({ role: 'standby', mode: 'down' }), { ok: true, reason: null }],
    ['reconnecting', true, replicator({ role: 'starting', mode: 'down', reason: 'connection lost: ECONNREFUSED' }), { ok: false, reason: 'replicator is starting: connection lost: ECONNREFUSED' }],
    ['leader between modes', true, replicator({ role: 'leader', mode: 'down', reason: 'starting' }), { ok: false, reason: 'replicator is leader: starting' }],
  ] as const)('%s', (_name, migrated, r, expected) => {
    expect(health(migrated, r)).toEqual(expected);
  });

  test('a gateway that has not started yet keeps the process unready', () => {
    expect(health(true, replicator({}), false, false)).toEqual({ ok: false, reason: 'the gateway has not started' });
  });

  test('a gateway beside a separate replicator is ready once migrated', () => {
    expect(health(true, null, true)).toEqual({ ok: true, reason: null });
  });
});
