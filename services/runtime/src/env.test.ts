import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { EnvError, listenEnv, logEnv, parseEnv, realtimeSecret, weakSecret } from './env';

describe('parseEnv with composed pieces', () => {
  const schema = z.object({ ...logEnv, ...listenEnv });
  test('defaults', () => {
    expect(parseEnv(schema, {})).toEqual({ LOG_LEVEL: 'info', PORT: 3000, HOST: '127.0.0.1' });
  });
  test('empty strings count as unset', () => {
    expect(parseEnv(schema, { PORT: '', LOG_FORMAT: '' })).toMatchObject({ PORT: 3000 });
  });
  test('every problem at once, each naming its variable', () => {
    expect(() => parseEnv(schema, { PORT: 'x', LOG_LEVEL: 'loud' })).toThrow(EnvError);
    expect(() => parseEnv(schema, { PORT: 'x', LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL[\s\S]*PORT|PORT[\s\S]*LOG_LEVEL/);
  });
});

test.each([
  ['s'.repeat(40), true],
  ['secret12'.repeat(5), true],
  ['3f9c0a7d5e1b8426c0d9e7f1a2b3c4d5', false],
])('weakSecret(%s) is %s', (v, weak) => {
  expect(weakSecret(v)).toBe(weak);
});

test('realtimeSecret uses the configured secret, or generates one and says so', () => {
  const configured = realtimeSecret({ REALTIME_JWT_SECRET: '3f9c0a7d5e1b8426c0d9e7f1a2b3c4d5' });
  expect(configured.generated).toBe(false);
  expect(Buffer.from(configured.secret).toString()).toBe('3f9c0a7d5e1b8426c0d9e7f1a2b3c4d5');
  const a = realtimeSecret({});
  const b = realtimeSecret({});
  expect(a.generated).toBe(true);
  expect(a.secret).toHaveLength(32);
  expect(Buffer.from(a.secret).equals(Buffer.from(b.secret))).toBe(false);
});
