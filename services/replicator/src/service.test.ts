import { describe, expect, test } from 'vitest';
import { replicatorHealth } from './service';
import type { ReplicatorStatus } from './replicator';

describe('replicatorHealth', () => {
  test.each<[string, Pick<ReplicatorStatus, 'role' | 'mode' | 'reason'>, { ok: boolean; reason: string | null }]>([
    ['leader in WAL mode', { role: 'leader', mode: 'wal', reason: null }, { ok: true, reason: null }],
    ['leader in NOTIFY mode', { role: 'leader', mode: 'notify', reason: 'wal_level is replica, not logical' }, { ok: true, reason: null }],
    ['standby', { role: 'standby', mode: 'down', reason: null }, { ok: true, reason: null }],
    ['reconnecting', { role: 'starting', mode: 'down', reason: 'connection lost: ECONNREFUSED' }, { ok: false, reason: 'replicator is starting: connection lost: ECONNREFUSED' }],
    ['leader between modes', { role: 'leader', mode: 'down', reason: 'starting' }, { ok: false, reason: 'replicator is leader: starting' }],
    ['stopped', { role: 'stopped', mode: 'down', reason: null }, { ok: false, reason: 'replicator is stopped' }],
  ])('%s', (_name, status, expected) => {
    expect(replicatorHealth(status)).toEqual(expected);
  });
});
