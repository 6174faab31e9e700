// A pool that survives its database going away. pg-pool listens for errors only on idle
// clients: one checked out (a transaction between two statements) that loses its server
// emits an 'error' nobody hears, and Node ends the process. Listening on every client
// keeps it to the failed statement; the pool drops the dead client when it is released.
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';

export function watchPool(pool: pg.Pool, log: Logger): pg.Pool {
  pool.on('error', (err) => log.warn({ err }, 'a pooled database connection closed; it will be replaced'));
  pool.on('connect', (client) => {
    client.on('error', (err) => log.warn({ err }, 'a database connection in use closed; its statement fails and the connection is replaced'));
  });
  return pool;
}
