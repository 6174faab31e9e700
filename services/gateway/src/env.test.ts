import { describe, expect, test } from 'vitest';
import { EnvError } from '@realtime/db';
import { jwtSecret, loadGatewayEnv } from './env';

describe('loadGatewayEnv', () => {
  test('defaults', () => {
    const env = loadGatewayEnv({});
    expect(env.PG_CHANNELS).toEqual(['projects', 'extraction_jobs', 'extraction_results', 'data_layers', 'supplier_matches']);
    expect(env).toMatchObject({ FRONTEND_URL: 'http://localhost:3000', MAX_SUBSCRIPTIONS_PER_SOCKET: 100, SOCKET_QUEUE_LIMIT: 5000, REPLAY_PAGE_SIZE: 1000, REPLICATOR: '1', PORT: 3000 });
    expect(env.REALTIME_JWT_SECRET).toBeUndefined();
  });

  test('PG_CHANNELS is a comma list', () => {
    expect(loadGatewayEnv({ PG_CHANNELS: ' projects, extraction_jobs ,' }).PG_CHANNELS).toEqual(['projects', 'extraction_jobs']);
  });

  test.each([
    ['PG_CHANNELS', 'projects;drop table x', /PG_CHANNELS lists table names/],
    ['PG_CHANNELS', ',', /PG_CHANNELS/],
    ['FRONTEND_URL', 'localhost', /FRONTEND_URL must be a URL/],
    ['REALTIME_JWT_SECRET', 'short', /at least 32 characters/],
    ['REALTIME_JWT_SECRET', 's'.repeat(40), /looks guessable/],
    ['REALTIME_JWT_SECRET', 'secret12'.repeat(5), /looks guessable/],
    ['REALTIME_JWT_SECRET', '0101010101010101010101010101010123', /looks guessable/],
    ['MAX_SUBSCRIPTIONS_PER_SOCKET', '0', /MAX_SUBSCRIPTIONS_PER_SOCKET/],
    ['SOCKET_QUEUE_LIMIT', 'big', /SOCKET_QUEUE_LIMIT/],
    ['REPLICATOR', 'yes', /REPLICATOR/],
  ])('%s=%s is refused, naming the variable', (name, value, message) => {
    expect(() => loadGatewayEnv({ [name]: value })).toThrow(EnvError);
    expect(() => loadGatewayEnv({ [name]: value })).toThrow(message);
  });
});

test('jwtSecret uses the configured secret, or generates one and says so', () => {
  const configured = jwtSecret(loadGatewayEnv({ REALTIME_JWT_SECRET: '3f9c0a7d5e1b8426c0d9e7f1a2b3c4d5' }));
  expect(configured.generated).toBe(false);
  expect(Buffer.from(configured.secret).toString()).toBe('3f9c0a7d5e1b8426c0d9e7f1a2b3c4d5');
  const a = jwtSecret(loadGatewayEnv({}));
  const b = jwtSecret(loadGatewayEnv({}));
  expect(a.generated).toBe(true);
  expect(a.secret).toHaveLength(32);
  expect(Buffer.from(a.secret).equals(Buffer.from(b.secret))).toBe(false);
});
