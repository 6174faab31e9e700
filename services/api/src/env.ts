// The API's configuration: its own variables (a piece any process that runs the API
// spreads into its schema), the schema of `npm run api`, composed from the database's and
// the runtime's pieces, and the narrower one of the operators' CLIs. A bad value names its variable.
import { z } from 'zod';
import { dbEnv, demoEnv } from '@realtime/db';
import { httpLimitsEnv, listenEnv, logEnv, metricsEnv, parseEnv, realtimeSecretEnv, redisEnv, requireSharedSecret } from '@realtime/runtime';
import { parseRetention } from './outbox/parse';
import { parseTrustProxy } from './limits/proxy';

export const apiEnv = {
  /**
   * Where the demo users' passwords go when the output is not a terminal (mode 0600),
   * relative to the clone; unset: the embedded cluster's data folder (users/banner.ts).
   */
  DEMO_USERS_FILE: z.string().min(1).optional(),
  SIMULATOR_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1500),
  /** Base URLs of gateways whose clients `outbox stats` counts (comma-separated). */
  GATEWAY_URLS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((u) => u.trim()).filter(Boolean))
    .pipe(z.array(z.string().url('GATEWAY_URLS lists URLs like http://gateway-1:3000, separated by commas'))),
  SLOT_LAG_WARN_BYTES: z.coerce.number().int().min(0).default(1024 ** 3),
  BACKLOG_WARN_SECONDS: z.coerce.number().int().min(1).default(60),
  /**
   * Keep stamped changes this long (30d, 12h), in ms; `forever` (null) keeps every one. On
   * by default: an outbox that only grows fills the disk, and replay reads a log that big.
   */
  RETENTION: z
    .string()
    .default('30d')
    .transform((v, ctx) => {
      try {
        return parseRetention(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
  /**
   * What one page of /api/outbox may weigh, summed over the changes' row_bytes (besides its
   * 500 rows): a page of 1 MB images would otherwise be half a gigabyte in memory and on the wire.
   */
  OUTBOX_PAGE_BYTES: z.coerce.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** How long a session lasts without use (days); each use extends it. */
  SESSION_DAYS: z.coerce.number().int().min(1).max(365).default(14),
  /** Lifetime of a realtime token; the web client refreshes it before it ends. */
  REALTIME_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(900).default(900),
  /** OpenID Connect: all three, or none. */
  AUTH_JWKS_URL: z.string().url('AUTH_JWKS_URL must be the URL of the provider\'s JWKS (its jwks_uri)').optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  /**
   * The proxies in front (addresses or networks, comma-separated): only a peer among them
   * is believed about the client's address and scheme (X-Forwarded-For, -Proto). 0: none.
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseTrustProxy(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Writes (POST, PATCH, DELETE under /api) per signed-in user and minute; more get 429. */
  WRITES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /**
   * How long the answer to an Idempotency-Key is kept (hours): a retry within it is answered,
   * not applied again. At least a day, so that a client offline overnight retries safely.
   */
  IDEMPOTENCY_TTL_HOURS: z.coerce.number().int().min(24, 'at least 24: clients retry queued writes after a night offline').max(24 * 365).default(24),
};

const apiPiece = z.object(apiEnv);
/** The API's own variables, as any schema that spreads apiEnv parses them. */
export type ApiSettings = z.infer<typeof apiPiece>;

/** OpenID Connect takes its three variables together: every schema that spreads apiEnv calls it in its superRefine. */
export function checkOidc(env: Pick<ApiSettings, 'AUTH_JWKS_URL' | 'AUTH_ISSUER' | 'AUTH_AUDIENCE'>, ctx: z.RefinementCtx): void {
  const oidc = [env.AUTH_JWKS_URL, env.AUTH_ISSUER, env.AUTH_AUDIENCE].filter(Boolean).length;
  if (oidc !== 0 && oidc !== 3) {
    for (const name of ['AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
      if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'OpenID Connect needs AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE together' });
    }
  }
}

/**
 * `npm run api`: the database, the log, its HTTP face and limits, demo data, the token
 * secret (which the gateways that check its tokens must share), the API's own, and Redis
 * (REDIS_URL, optional), where the sign-in and write budgets are counted across API processes.
 */
export const apiEnvSchema = z
  .object({ ...logEnv, ...dbEnv, ...demoEnv, ...listenEnv, ...metricsEnv, ...httpLimitsEnv, ...realtimeSecretEnv, ...redisEnv, ...apiEnv })
  .superRefine((env, ctx) => {
    checkOidc(env, ctx);
    requireSharedSecret(env, ctx, 'for the API of its own: the gateways check its tokens with the same secret');
  });

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export function loadApiEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  return parseEnv(apiEnvSchema, source);
}

/** The operators' CLIs (`npm run outbox`): the database, the log and the API's own variables. */
export const apiToolEnvSchema = z.object({ ...logEnv, ...dbEnv, ...apiEnv }).superRefine(checkOidc);

export function loadApiToolEnv(source: Record<string, string | undefined> = process.env): z.infer<typeof apiToolEnvSchema> {
  return parseEnv(apiToolEnvSchema, source);
}
