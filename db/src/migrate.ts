// Applies db/migrations (drizzle-kit's generated SQL plus the custom trigger and
// publication SQL). Serialised by an advisory lock so that processes starting together
// do not race; a second run finds every migration recorded and changes nothing.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Logger } from './log';
import { redactUrl } from './url';
import { connectWaiting } from './wait';

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

// Any constant works; this one is "realtime migrate" folded into 32 bits.
const MIGRATION_LOCK = 0x72746d67;

export interface MigrationResult {
  applied: number;
  total: number;
}

/** `waitMs`: how long a Postgres that refuses or is starting up is waited for (DB_WAIT_SECONDS). */
export async function runMigrations(url: string, log: Logger, { waitMs = 30_000 }: { waitMs?: number } = {}): Promise<MigrationResult> {
  let client: pg.Client;
  try {
    client = await connectWaiting({ connectionString: url, application_name: 'realtime-migrate' }, log, waitMs);
  } catch (cause) {
    throw new Error(`Cannot connect to ${redactUrl(url)} (${(cause as Error).message}). Check DATABASE_URL and that Postgres is running there.`, { cause });
  }
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const before = await countApplied(client);
    await migrate(drizzle({ client }), { migrationsFolder, migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' });
    const after = await countApplied(client);
    const result = { applied: after - before, total: after };
    log.info(result, result.applied ? 'database migrated' : 'database already up to date');
    return result;
  } catch (cause) {
    throw new Error(`Migrating the database failed: ${(cause as Error).message}. Nothing was half-applied (migrations run in one transaction); fix the cause and run \`npm run db:migrate\` again.`, { cause });
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

async function countApplied(client: pg.Client): Promise<number> {
  const exists = await client.query(`select to_regclass('drizzle.__drizzle_migrations') is not null as ok`);
  if (!exists.rows[0]?.ok) return 0;
  const { rows } = await client.query<{ n: string }>('select count(*) as n from drizzle.__drizzle_migrations');
  return Number(rows[0]?.n ?? 0);
}
