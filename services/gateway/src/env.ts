// The gateway's configuration, validated once; a bad value names its variable.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseEnv } from '@realtime/db';
import { replicatorEnvSchema } from '@realtime/replicator';
import { DEFAULT_HEARTBEAT, DEAD_LINK_NOTICE_MS, DEFAULT_LIMITS, type GatewayLimits, type Heartbeat } from './gateway';

/** A secret made of one short piece repeated, or of a handful of characters, is no secret. */
export function weakSecret(v: string): boolean {
  if (new Set(v).size < 10) return true;
  return /^(.{1,16})\1+$/s.test(v);
}

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

export const gatewayEnvSchema = replicatorEnvSchema.extend({
  REPLICATOR: z.enum(['0', '1']).default('1'),
  /** Narrows the channels to these tables; empty (the default): every streamed table, found in the catalog. */
  PG_CHANNELS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((c) => c.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'PG_CHANNELS lists table names separated by commas'))),
  /** Origins whose pages may open a socket, separated by commas (the page's own origin always may). */
  FRONTEND_URL: z
    .string()
    .default('http://localhost:3000')
    .transform((s) => s.split(',').map((u) => u.trim()).filter(Boolean))
    .pipe(z.array(z.string().url('FRONTEND_URL lists origins like https://app.example.com, separated by commas'))),
  REALTIME_JWT_SECRET: z
    .string()
    .min(32, 'REALTIME_JWT_SECRET must be at least 32 characters (256 bits): openssl rand -hex 32 makes one')
    .refine((v) => !weakSecret(v), 'REALTIME_JWT_SECRET looks guessable (one piece repeated, or too few different characters): openssl rand -hex 32 makes one')
    .optional(),
  // What one client may cost (README, "Running in production"; each bound reached is
  // counted in realtime_limit_hits_total by name).
  MAX_SUBSCRIPTIONS_PER_SOCKET: int(1, 10_000, DEFAULT_LIMITS.maxSubscriptions),
  MAX_SOCKETS_PER_USER: int(1, 10_000, DEFAULT_LIMITS.maxSocketsPerUser),
  SUBSCRIBES_PER_SECOND: int(1, 10_000, DEFAULT_LIMITS.subscribesPerSecond),
  SOCKET_QUEUE_BYTES: int(16 * 1024, 1024 ** 3, DEFAULT_LIMITS.queueBytes),
  REPLAY_PAGE_SIZE: int(10, 100_000, DEFAULT_LIMITS.pageSize),
  REPLAY_PAGE_BYTES: int(16 * 1024, 256 * 1024 ** 2, DEFAULT_LIMITS.pageBytes),
  MAX_CONCURRENT_REPLAYS: int(1, 1000, DEFAULT_LIMITS.maxConcurrentReplays),
  /** Replays of one user reading the outbox at once (per gateway process); the rest wait, behind that user's own. */
  MAX_REPLAYS_PER_USER: int(1, 1000, DEFAULT_LIMITS.maxReplaysPerUser),
  /** Connections of the replay pool, apart from the API's. */
  REPLAY_POOL_SIZE: int(1, 100, 4),
  /**
   * Socket.IO's heartbeat: a link that dies without a close (a network switch, a sleeping
   * laptop) is noticed by both ends within their sum, which checkHeartbeat holds to the
   * README's promise; the client learns both from the handshake.
   */
  PING_INTERVAL_MS: int(1000, 60_000, DEFAULT_HEARTBEAT.pingInterval),
  PING_TIMEOUT_MS: int(1000, 60_000, DEFAULT_HEARTBEAT.pingTimeout),
  /** Replaced by SOCKET_QUEUE_BYTES: a count of packets bounded nothing when rows are large. */
  SOCKET_QUEUE_LIMIT: z
    .undefined({ error: 'SOCKET_QUEUE_LIMIT was replaced by SOCKET_QUEUE_BYTES (bytes, default 8388608): rename it' })
    .optional(),
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

/**
 * A refinement rather than part of the schema, which the API's schema extends (zod does
 * not extend a refined object): every schema built on this one calls it.
 */
export function checkHeartbeat(env: { PING_INTERVAL_MS: number; PING_TIMEOUT_MS: number }, ctx: z.RefinementCtx): void {
  if (env.PING_INTERVAL_MS + env.PING_TIMEOUT_MS > DEAD_LINK_NOTICE_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['PING_TIMEOUT_MS'],
      message: `PING_INTERVAL_MS + PING_TIMEOUT_MS is ${env.PING_INTERVAL_MS + env.PING_TIMEOUT_MS} ms; at most ${DEAD_LINK_NOTICE_MS} ms, so that a dead link is noticed within ${DEAD_LINK_NOTICE_MS / 1000} s`,
    });
  }
}

export function loadGatewayEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  return parseEnv(gatewayEnvSchema.superRefine(checkHeartbeat), source);
}

export function gatewayHeartbeat(env: GatewayEnv): Heartbeat {
  return { pingInterval: env.PING_INTERVAL_MS, pingTimeout: env.PING_TIMEOUT_MS };
}

export function gatewayLimits(env: GatewayEnv): GatewayLimits {
  return {
    ...DEFAULT_LIMITS,
    queueBytes: env.SOCKET_QUEUE_BYTES,
    maxSocketsPerUser: env.MAX_SOCKETS_PER_USER,
    maxSubscriptions: env.MAX_SUBSCRIPTIONS_PER_SOCKET,
    subscribesPerSecond: env.SUBSCRIBES_PER_SECOND,
    pageSize: env.REPLAY_PAGE_SIZE,
    pageBytes: env.REPLAY_PAGE_BYTES,
    maxConcurrentReplays: env.MAX_CONCURRENT_REPLAYS,
    maxReplaysPerUser: env.MAX_REPLAYS_PER_USER,
  };
}

/** The secret as bytes; a random one (and a warning to say so) when none is configured. */
export function jwtSecret(env: GatewayEnv): { secret: Uint8Array; generated: boolean } {
  if (env.REALTIME_JWT_SECRET) return { secret: new TextEncoder().encode(env.REALTIME_JWT_SECRET), generated: false };
  return { secret: randomBytes(32), generated: true };
}
