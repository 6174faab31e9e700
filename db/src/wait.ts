// A process that starts while its Postgres is restarting (a deploy, a crash recovery, a
// compose file starting everything at once) waits for it rather than exiting: only
// failures that time can cure are waited out; a wrong password or database name is not.
import pg from 'pg';
import type { Logger } from '@realtime/runtime';
import { redactUrl } from './url';

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P01', // admin_shutdown: a restart under way
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '53300', // too_many_connections
]);

/** Whether a failed connect may succeed later without anyone changing anything. */
export function isTransientConnectError(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  if (code && TRANSIENT_CODES.has(code)) return true;
  // node-postgres's own words for a socket closed during the handshake.
  return typeof message === 'string' && /Connection terminated|timeout expired/i.test(message);
}

/**
 * A connected client, after waiting up to `waitMs` for a Postgres that refuses or is
 * starting; the first wait is logged with what to check, the last error is thrown.
 */
export async function connectWaiting(config: pg.ClientConfig & { connectionString: string }, log: Logger, waitMs: number): Promise<pg.Client> {
  const deadline = Date.now() + waitMs;
  let warned = false;
  for (;;) {
    const client = new pg.Client({ connectionTimeoutMillis: 5000, ...config });
    try {
      await client.connect();
      if (warned) log.info({ database: redactUrl(config.connectionString) }, 'Postgres answers now');
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (!isTransientConnectError(err) || Date.now() >= deadline) throw err;
      if (!warned) {
        warned = true;
        log.warn(
          { database: redactUrl(config.connectionString), err: (err as Error).message, waitSeconds: Math.round(waitMs / 1000) },
          'Postgres does not answer yet; waiting for it (DB_WAIT_SECONDS bounds the wait)',
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
