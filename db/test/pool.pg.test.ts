// A connection that dies while checked out of the pool (a transaction between two
// statements when Postgres restarts) fails its statement and is replaced; it does not
// end the process through an 'error' event nobody listens to.
import { expect, test } from 'vitest';
import pg from 'pg';
import { createLogger } from '@realtime/runtime';
import { watchPool } from '../src/pool';
import { useTestDatabase } from './harness';

const fx = useTestDatabase();

test('a checked-out connection killed mid-transaction: the statement fails, the pool goes on', async () => {
  const warnings: string[] = [];
  const log = createLogger('silent');
  log.warn = ((_obj: unknown, msg?: string) => void warnings.push(String(msg))) as typeof log.warn;
  const pool = watchPool(new pg.Pool({ connectionString: fx.db.url, max: 2 }), log);
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const client = await pool.connect();
    await client.query('BEGIN');
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await fx.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await expect.poll(() => warnings.some((w) => /in use closed/.test(w)), { timeout: 5000 }).toBe(true);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
    await pool.end();
  }
});
