// The database layer's configuration, read once and validated: a bad value fails fast
// with the variable's name and what it expects. Nothing else in db/ reads process.env.
import { z } from 'zod';

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
    message: 'must be a postgres:// URL, e.g. postgres://user:password@host:5432/dbname',
  });

export const DEFAULT_EMBEDDED_PG_PORT = 54329;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;

/** LOG_FORMAT's values; db/src/log.ts chooses when it is unset. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const dbEnvSchema = z.object({
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
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(LOG_FORMATS).optional(),
  /**
   * Longest a statement of the API's and the gateway's login roles may run, in ms. The
   * owner writes it into those roles when it migrates (roles.ts), so the migrating process
   * and the processes that check it must be given the same value.
   */
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_STATEMENT_TIMEOUT_MS),
  // How long a process that starts while Postgres restarts waits for it before it gives up.
  DB_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
});

export type DbEnv = z.infer<typeof dbEnvSchema>;

export class EnvError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid environment:\n${issues.map((i) => `  - ${i}`).join('\n')}\nFix these variables (see README.md, "Configuration") and start again.`);
    this.name = 'EnvError';
  }
}

/** Empty strings count as unset, as compose files and shells often leave them. */
export function parseEnv<T extends z.ZodType>(shape: T, source: Record<string, string | undefined>): z.infer<T> {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = shape.safeParse(cleaned);
  if (!result.success) {
    throw new EnvError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return result.data;
}

export function loadDbEnv(source: Record<string, string | undefined> = process.env): DbEnv {
  return parseEnv(dbEnvSchema, source);
}
