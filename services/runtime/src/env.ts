// The configuration pieces every process shares, as zod shapes that each main spreads into
// its own schema (z.object({ ...logEnv, ...listenEnv, ... })), and the one parser that
// turns an invalid environment into a message naming each variable and what it expects.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** LOG_FORMAT's values; log.ts chooses when it is unset. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

export const logEnv = {
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(LOG_FORMATS).optional(),
};

export const listenEnv = {
  PORT: int(0, 65_535, 3000),
  /**
   * The address the HTTP server listens on: this machine only by default, so that a demo
   * (plain HTTP, printed passwords) is not served to the network by accident. 0.0.0.0 (or ::)
   * in a container or behind a proxy on another host.
   */
  HOST: z
    .string()
    .trim()
    .regex(/^(?:[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+)$/, 'HOST is an address to listen on, such as 127.0.0.1, 0.0.0.0, :: or a host name')
    .default('127.0.0.1'),
};

/** What one request may cost: the time to send it (headers and body) and the body's size. */
export interface HttpLimits {
  requestTimeoutMs: number;
  bodyLimitBytes: number;
}

export const HTTP_LIMIT_DEFAULTS: HttpLimits = { requestTimeoutMs: 30_000, bodyLimitBytes: 256 * 1024 };

export const httpLimitsEnv = {
  /** A request's headers and body must arrive within this (slow senders are cut off with 408). */
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 600_000, HTTP_LIMIT_DEFAULTS.requestTimeoutMs),
  /** Larger request bodies are refused with 413 before they are read. */
  HTTP_BODY_LIMIT_BYTES: int(1024, 64 * 1024 ** 2, HTTP_LIMIT_DEFAULTS.bodyLimitBytes),
};

export function httpLimits(env: { HTTP_REQUEST_TIMEOUT_MS: number; HTTP_BODY_LIMIT_BYTES: number }): HttpLimits {
  return { requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS, bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES };
}

export const metricsEnv = {
  /** `Authorization: Bearer <METRICS_TOKEN>` reads /metrics (and, in a process without users, /status). */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
};

/** A secret made of one short piece repeated, or of a handful of characters, is no secret. */
export function weakSecret(v: string): boolean {
  if (new Set(v).size < 10) return true;
  return /^(.{1,16})\1+$/s.test(v);
}

/** The secret the API signs realtime tokens (and list cursors) with and every gateway checks them with. */
export const realtimeSecretEnv = {
  REALTIME_JWT_SECRET: z
    .string()
    .min(32, 'REALTIME_JWT_SECRET must be at least 32 characters (256 bits): openssl rand -hex 32 makes one')
    .refine((v) => !weakSecret(v), 'REALTIME_JWT_SECRET looks guessable (one piece repeated, or too few different characters): openssl rand -hex 32 makes one')
    .optional(),
};

/** The secret as bytes; a random one (and `generated` to say so) when none is configured. */
export function realtimeSecret(env: { REALTIME_JWT_SECRET?: string | undefined }): { secret: Uint8Array; generated: boolean } {
  if (env.REALTIME_JWT_SECRET) return { secret: new TextEncoder().encode(env.REALTIME_JWT_SECRET), generated: false };
  return { secret: randomBytes(32), generated: true };
}

/**
 * For a process that runs beside others (the API, a gateway): a generated secret would be
 * its own, and a token one of them issued must be good at all of them. Call from superRefine.
 */
export function requireSharedSecret(env: { REALTIME_JWT_SECRET?: string | undefined }, ctx: z.RefinementCtx, why: string): void {
  if (!env.REALTIME_JWT_SECRET) ctx.addIssue({ code: 'custom', path: ['REALTIME_JWT_SECRET'], message: `must be set ${why}: openssl rand -hex 32 makes one` });
}

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

/** Loads the configuration, or prints what is wrong with it (naming the variable) and exits 1. */
export function loadEnvOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

/**
 * Redis, shared by the processes of one deployment: the change log (the replicator appends,
 * gateways read) and the limits counted across processes (gateways' sockets per user, the
 * API's sign-in and write budgets). Unset: no change log, and every limit counted per process.
 */
export const redisEnv = {
  REDIS_URL: z.preprocess(
    // An empty value (`REDIS_URL=` in a compose file) is no value.
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .refine((v) => /^rediss?:\/\/[^/\s]/.test(v) && URL.canParse(v), 'a redis:// or rediss:// URL (redis://[user:password@]host:6379[/db]); leave it unset to run without the change log and with limits per process')
      .optional(),
  ),
  /** The first part of every key the deployment keeps in Redis (the change log's, the shared limits'). */
  CHANGELOG_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}:.-]{1,64}$/, 'up to 64 letters, digits and _ { } : . - (e.g. realtime, or {realtime} on Redis Cluster)')
    .default('realtime'),
};
