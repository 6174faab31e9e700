// Applies db/migrations (drizzle-kit's generated SQL plus the custom trigger and
// publication SQL). Serialised by an advisory lock so that processes starting together
// do not race; a second run finds every migration recorded and changes nothing.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Logger } from '@realtime/runtime';
import { redactUrl } from './url';
import { connectWaiting, isTransientConnectError } from './wait';
import { ensureLoginRoles, RoleSetupError, type LoginRole } from './roles';
import { refusedStartupParameter, StartupParameterError } from './startup-parameter';
import { DEFAULT_STATEMENT_TIMEOUT_MS } from './env';

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

// Any constant works; this one is "realtime migrate" folded into 32 bits.
const MIGRATION_LOCK = 0x72746d67;

export interface MigrationResult {
  applied: number;
  total: number;
}

/**
 * `waitMs`: how long a Postgres that refuses, is starting up, or goes away during the
 * migration (a crash: the migration's transaction rolls back with it) is waited for
 * (DB_WAIT_SECONDS). A lost connection is an error a query reports, never an event
 * that could end the process. `url` must reach Postgres itself, never a transaction pooler:
 * the advisory lock is the session's (DATABASE_URL_DIRECT when DATABASE_URL is pooled).
 * `statementTimeoutMs` is written into the API's and the gateway's login roles (roles.ts).
 */
export async function runMigrations(
  url: string,
  log: Logger,
  { waitMs = 30_000, roles = [], statementTimeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS }: { waitMs?: number; roles?: readonly LoginRole[]; statementTimeoutMs?: number } = {},
): Promise<MigrationResult> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let client: pg.Client;
    try {
      client = await connectWaiting({ connectionString: url, application_name: 'realtime-migrate' }, log, Math.max(0, deadline - Date.now()));
    } catch (cause) {
      const parameter = refusedStartupParameter(cause);
      if (parameter) throw new StartupParameterError('DATABASE_URL_DIRECT (DATABASE_URL when it is unset)', parameter, { cause });
      throw new Error(`Cannot connect to ${redactUrl(url)} (${(cause as Error).message}). Check DATABASE_URL and that Postgres is running there.`, { cause });
    }
    client.on('error', () => undefined);
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const before = await countApplied(client);
      await migrate(drizzle({ client }), { migrationsFolder, migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' });
      const after = await countApplied(client);
      // After the migrations that made their groups, under the same lock: a role is
      // changed by one process at a time.
      await ensureLoginRoles(client, roles, log, { statementTimeoutMs });
      const result = { applied: after - before, total: after };
      log.info(result, result.applied ? 'database migrated' : 'database already up to date');
      return result;
    } catch (cause) {
      if (connectionLost(cause) && Date.now() < deadline) {
        log.warn({ database: redactUrl(url), err: (cause as Error).message }, 'the connection to Postgres was lost while migrating (nothing was half-applied); trying again');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (cause instanceof RoleSetupError) throw cause;
      throw new Error(`Migrating the database failed: ${(cause as Error).message}. Nothing was half-applied (migrations run in one transaction); fix the cause and run \`npm run db:migrate\` again.`, { cause });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

/** A failure of the connection (drizzle wraps the driver's error as its cause), not of a migration's SQL. */
function connectionLost(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (isTransientConnectError(e) || /not queryable|Client was closed/i.test((e as Error).message ?? '')) return true;
  }
  return false;
}

async function countApplied(client: pg.Client): Promise<number> {
  const exists = await client.query(`select to_regclass('drizzle.__drizzle_migrations') is not null as ok`);
  if (!exists.rows[0]?.ok) return 0;
  const { rows } = await client.query<{ n: string }>('select count(*) as n from drizzle.__drizzle_migrations');
  return Number(rows[0]?.n ?? 0);
}
