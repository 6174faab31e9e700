// Which failures are a refused startup parameter, and what the error then says.
import { describe, expect, test } from 'vitest';
import { namingStartupRefusal, refusedStartupParameter, StartupParameterError } from './startup-parameter';

describe('refusedStartupParameter', () => {
  test.each<[string, unknown, string | null]>([
    ['PgBouncer refusing a parameter', new Error('unsupported startup parameter: statement_timeout'), 'statement_timeout'],
    ['PgBouncer refusing one inside options', new Error('unsupported startup parameter in options: search_path'), 'search_path'],
    ['wrapped as a cause', new Error('Cannot connect', { cause: new Error('unsupported startup parameter: options') }), 'options'],
    ['a wrong password', Object.assign(new Error('password authentication failed for user "x"'), { code: '28P01' }), null],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6432'), { code: 'ECONNREFUSED' }), null],
    ['nothing', undefined, null],
  ])('%s', (_what, err, parameter) => {
    expect(refusedStartupParameter(err)).toBe(parameter);
  });
});

describe('namingStartupRefusal', () => {
  test('names the variable, the parameter and the fix, keeping the cause', async () => {
    const cause = new Error('unsupported startup parameter: options');
    const err = await namingStartupRefusal('DATABASE_URL', () => Promise.reject(cause)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupParameterError);
    expect((err as Error).message).toMatch(/^DATABASE_URL leads to a server that refuses the startup parameter "options".*Remove options from DATABASE_URL's query string.*ignore_startup_parameters/);
    expect((err as Error).cause).toBe(cause);
  });

  test('replication refused: the fix is a direct URL', async () => {
    const err = await namingStartupRefusal('DATABASE_URL_REPLICATOR', () => Promise.reject(new Error('unsupported startup parameter: replication'))).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/set DATABASE_URL_DIRECT to Postgres's own address/);
  });

  test('any other failure passes through as it is', async () => {
    const other = new Error('password authentication failed');
    await expect(namingStartupRefusal('DATABASE_URL', () => Promise.reject(other))).rejects.toBe(other);
    await expect(namingStartupRefusal('DATABASE_URL', async () => 42)).resolves.toBe(42);
  });
});
