import { describe, expect, test } from 'vitest';
import { EnvError } from '@realtime/runtime';
import { loadReplicatorEnv } from './env';

describe('loadReplicatorEnv', () => {
  test('defaults', () => {
    expect(loadReplicatorEnv({})).toMatchObject({
      REPLICATION_SLOT: 'realtime_outbox',
      PUBLICATION: 'realtime_outbox',
      STAMP_BATCH_SIZE: 5000,
      STAMP_LINGER_MS: 0,
      STAMP_COMMIT: 'async',
      STAMP_EARLY: '1',
      SAFETY_POLL_MS: 1000,
      WAL_RETRY_MS: 10_000,
      PORT: 3000,
      DEMO: '1',
      CHANGELOG_RETENTION: 3_600_000,
      CHANGELOG_MAX_ENTRIES: 100_000,
      CHANGELOG_PREFIX: 'realtime',
    });
    expect(loadReplicatorEnv({}).REDIS_URL, 'no REDIS_URL: no change log').toBeUndefined();
    expect(loadReplicatorEnv({ REDIS_URL: '' }).REDIS_URL, 'an empty value is no value').toBeUndefined();
  });

  test.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['rediss://user:secret@cache.internal:6380/2', 'rediss://user:secret@cache.internal:6380/2'],
  ])('REDIS_URL=%s is taken', (value, want) => {
    expect(loadReplicatorEnv({ REDIS_URL: value }).REDIS_URL).toBe(want);
  });

  test.each([
    ['REPLICATION_SLOT', 'My-Slot', /REPLICATION_SLOT: replication slot names may use lowercase letters/],
    ['PUBLICATION', 'x'.repeat(64), /PUBLICATION/],
    ['STAMP_BATCH_SIZE', '0', /STAMP_BATCH_SIZE/],
    ['STAMP_BATCH_SIZE', 'lots', /STAMP_BATCH_SIZE/],
    ['STAMP_LINGER_MS', '-1', /STAMP_LINGER_MS/],
    ['STAMP_COMMIT', 'later', /STAMP_COMMIT/],
    ['STAMP_EARLY', 'yes', /STAMP_EARLY/],
    ['SAFETY_POLL_MS', '10', /SAFETY_POLL_MS/],
    ['WAL_RETRY_MS', '1.5', /WAL_RETRY_MS/],
    ['PORT', '70000', /PORT/],
    ['DEMO', 'yes', /DEMO/],
    ['DATABASE_URL_DIRECT', 'http://x', /DATABASE_URL_DIRECT/],
    ['REDIS_URL', 'http://cache:6379', /REDIS_URL: a redis:\/\/ or rediss:\/\/ URL.*leave it unset/],
    ['REDIS_URL', 'cache:6379', /REDIS_URL: a redis:\/\/ or rediss:\/\/ URL/],
    ['REDIS_URL', 'redis://', /REDIS_URL/],
    ['CHANGELOG_RETENTION', '1 hour', /CHANGELOG_RETENTION: not a duration: "1 hour" \(a number and a unit/],
    ['CHANGELOG_MAX_ENTRIES', '0', /CHANGELOG_MAX_ENTRIES/],
    ['CHANGELOG_PREFIX', 'has space', /CHANGELOG_PREFIX: up to 64 letters/],
  ])('%s=%s is refused, naming the variable', (name, value, message) => {
    expect(() => loadReplicatorEnv({ [name]: value })).toThrow(EnvError);
    expect(() => loadReplicatorEnv({ [name]: value })).toThrow(message);
  });

  test('every problem is reported at once', () => {
    expect(() => loadReplicatorEnv({ PORT: 'x', DEMO: 'x' })).toThrow(/PORT[\s\S]*DEMO|DEMO[\s\S]*PORT/);
  });
});
