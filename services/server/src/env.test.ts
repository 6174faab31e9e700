import { describe, expect, test } from 'vitest';
import { EnvError } from '@realtime/runtime';
import { loadServerEnv } from './env';

describe('loadServerEnv', () => {
  test('defaults: every part in one process, the replicator in a worker thread, a generated secret allowed', () => {
    const env = loadServerEnv({});
    expect(env).toMatchObject({ REPLICATOR: '1', REPLICATOR_THREAD: '1', DEMO: '1', PORT: 3000, HOST: '127.0.0.1', FRONTEND_URL: ['http://localhost:3000'], STAMP_BATCH_SIZE: 5000, OUTBOX_PAGE_BYTES: 1024 * 1024, HTTP_REQUEST_TIMEOUT_MS: 30_000 });
    expect(env.REALTIME_JWT_SECRET).toBeUndefined();
    expect(env.REDIS_URL, 'no change log unless asked for').toBeUndefined();
  });

  test('REDIS_URL turns the change log on, with its defaults', () => {
    expect(loadServerEnv({ REDIS_URL: 'redis://127.0.0.1:6379' })).toMatchObject({ REDIS_URL: 'redis://127.0.0.1:6379', CHANGELOG_RETENTION: 3_600_000, CHANGELOG_MAX_ENTRIES: 100_000, CHANGELOG_PREFIX: 'realtime' });
  });

  test.each([
    ['REPLICATOR', '0', /REALTIME_JWT_SECRET: must be set when REPLICATOR=0/],
    ['REPLICATOR', 'yes', /REPLICATOR/],
    ['REPLICATOR_THREAD', 'yes', /REPLICATOR_THREAD/],
    ['PING_TIMEOUT_MS', '9000', /PING_TIMEOUT_MS: PING_INTERVAL_MS \+ PING_TIMEOUT_MS is 13000 ms; at most 10000 ms/],
    ['FRONTEND_URL', 'localhost:5173', /FRONTEND_URL.*no http:\/\/ or https:\/\/ scheme/],
    ['AUTH_AUDIENCE', 'app', /OpenID Connect needs/],
    ['STAMP_BATCH_SIZE', '0', /STAMP_BATCH_SIZE/],
    ['SOCKET_QUEUE_BYTES', '100', /SOCKET_QUEUE_BYTES/],
    ['REDIS_URL', 'https://cache:6379', /REDIS_URL: a redis:\/\/ or rediss:\/\/ URL/],
  ])('%s=%s is refused, naming the variable', (name, value, message) => {
    expect(() => loadServerEnv({ [name]: value })).toThrow(EnvError);
    expect(() => loadServerEnv({ [name]: value })).toThrow(message);
  });

  test('REPLICATOR=0 with a shared secret is fine', () => {
    expect(loadServerEnv({ REPLICATOR: '0', REALTIME_JWT_SECRET: '3f9c0a7d5e1b8426c0d9e7f1a2b3c4d5' }).REPLICATOR).toBe('0');
  });
});
