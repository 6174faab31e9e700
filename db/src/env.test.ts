import { describe, expect, test } from 'vitest';
import { EnvError } from '@realtime/runtime';
import { loadDbEnv } from './env';

describe('loadDbEnv', () => {
  test('defaults', () => {
    const env = loadDbEnv({});
    expect(env.EMBEDDED_PG_PORT).toBeUndefined(); // DEFAULT_EMBEDDED_PG_PORT, where it is used
    expect(loadDbEnv({ EMBEDDED_PG_PORT: '54400' }).EMBEDDED_PG_PORT).toBe(54400);
    expect(env.LOG_LEVEL).toBe('info');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.LOG_FORMAT).toBeUndefined();
  });

  test.each(['json', 'pretty'] as const)('LOG_FORMAT=%s', (format) => {
    expect(loadDbEnv({ LOG_FORMAT: format }).LOG_FORMAT).toBe(format);
  });

  test('empty strings count as unset', () => {
    expect(loadDbEnv({ DATABASE_URL: '', EMBEDDED_PG_PORT: '' }).DATABASE_URL).toBeUndefined();
  });

  test.each([
    ['DATABASE_URL', 'mysql://x@y/z', /DATABASE_URL: must be a postgres:\/\/ URL/],
    ['DATABASE_URL_DIRECT', 'not a url', /DATABASE_URL_DIRECT: must be a postgres:\/\/ URL/],
    ['EMBEDDED_PG_PORT', 'abc', /EMBEDDED_PG_PORT/],
    ['EMBEDDED_PG_PORT', '80', /EMBEDDED_PG_PORT/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['LOG_FORMAT', 'text', /LOG_FORMAT/],
  ])('%s=%s is refused with its name', (name, value, message) => {
    expect(() => loadDbEnv({ [name]: value })).toThrow(EnvError);
    expect(() => loadDbEnv({ [name]: value })).toThrow(message);
  });

  test('accepts postgres and postgresql URLs', () => {
    const env = loadDbEnv({ DATABASE_URL: 'postgresql://u:p@db:5432/app', DATABASE_URL_DIRECT: 'postgres://u@db/app' });
    expect(env.DATABASE_URL).toBe('postgresql://u:p@db:5432/app');
    expect(env.DATABASE_URL_DIRECT).toBe('postgres://u@db/app');
  });
});
