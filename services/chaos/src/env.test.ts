import { expect, test } from 'vitest';
import { EnvError } from '@realtime/runtime';
import { inheritedEnv, loadChaosEnv } from './env';

test('CHAOS_LOG_LEVEL defaults to warn and names a bad value', () => {
  expect(loadChaosEnv({}).CHAOS_LOG_LEVEL).toBe('warn');
  expect(loadChaosEnv({ CHAOS_LOG_LEVEL: 'debug' }).CHAOS_LOG_LEVEL).toBe('debug');
  expect(() => loadChaosEnv({ CHAOS_LOG_LEVEL: 'loud' })).toThrow(EnvError);
  expect(() => loadChaosEnv({ CHAOS_LOG_LEVEL: 'loud' })).toThrow(/CHAOS_LOG_LEVEL/);
});

test('CHAOS_QUEUE_WRITERS defaults to 2, 0 turns them off, and names a bad value', () => {
  expect(loadChaosEnv({}).CHAOS_QUEUE_WRITERS).toBe(2);
  expect(loadChaosEnv({ CHAOS_QUEUE_WRITERS: '0' }).CHAOS_QUEUE_WRITERS).toBe(0);
  expect(loadChaosEnv({ CHAOS_QUEUE_WRITERS: '5' }).CHAOS_QUEUE_WRITERS).toBe(5);
  for (const bad of ['-1', '2.5', 'many', '17']) expect(() => loadChaosEnv({ CHAOS_QUEUE_WRITERS: bad }), bad).toThrow(/CHAOS_QUEUE_WRITERS/);
});

test('the processes inherit the environment but not what the stack sets for them', () => {
  expect(inheritedEnv({ PATH: '/bin', HOME: '/root', DATABASE_URL: 'postgres://x/y', PORT: '1', EMBEDDED_PG_PORT: '5', REPLICATOR: '1', METRICS_TOKEN: 'm', REALTIME_TOKEN_TTL_SECONDS: '900', AUTH_ISSUER: 'x', RETENTION: '1h', REDIS_URL: 'redis://shared:6379', CHANGELOG_PREFIX: 'p', UNSET: undefined })).toEqual({ PATH: '/bin', HOME: '/root' });
});
