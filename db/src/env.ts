// The database layer's configuration, read once and validated: a bad value fails fast
// with the variable's name and what it expects. Nothing else in db/ reads process.env.
import { z } from 'zod';
import { logEnv, parseEnv } from '@realtime/runtime';

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
    message: 'must be a postgres:// URL, e.g. postgres://user:password@host:5432/dbname',
  });

export const DEFAULT_EMBEDDED_PG_PORT = 54329;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;

/** The database's variables, for a process's schema to spread beside runtime's pieces. */
export const dbEnv = {
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_URL_DIRECT: postgresUrl.optional(),
  // Each process's own login role (db/src/roles.ts): created or updated with these
  // credentials by the owner (DATABASE_URL) when it migrates. Unset: that process uses
  // DATABASE_URL itself, and says loudly that it runs with the owner's powers.
  DATABASE_URL_API: postgresUrl.optional(),
  DATABASE_URL_GATEWAY: postgresUrl.optional(),
  DATABASE_URL_REPLICATOR: postgresUrl.optional(),
  TEST_DATABASE_URL: postgresUrl.optional(),
  // No default here: whether it was set decides whether a second cluster is deliberate (embedded/locate.ts).
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).optional(),
  EMBEDDED_PG_DIR: z.string().min(1).optional(),
  /**
   * Longest a statement of the API's and the gateway's login roles may run, in ms. The
   * owner writes it into those roles when it migrates (roles.ts), so the migrating process
   * and the processes that check it must be given the same value.
   */
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_STATEMENT_TIMEOUT_MS),
  // How long a process that starts while Postgres restarts waits for it before it gives up.
  DB_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
};

/**
 * DEMO=1: demo data (and, where the API runs, demo users and the simulator) in an empty
 * database. Compose sets 0.
 */
export const demoEnv = {
  DEMO: z.enum(['0', '1']).default('1'),
};

/** What the database tools (migrate, url) read: the database and the log. */
export const dbEnvSchema = z.object({ ...logEnv, ...dbEnv });

export type DbEnv = z.infer<typeof dbEnvSchema>;

export function loadDbEnv(source: Record<string, string | undefined> = process.env): DbEnv {
  return parseEnv(dbEnvSchema, source);
}
