// The gateway's configuration: its own variables (a piece any process that runs a gateway
// spreads into its schema), and the schema of `npm run gateway`, composed from the
// database's and the runtime's pieces. A bad value names its variable.
import { z } from 'zod';
import { dbEnv } from '@realtime/db';
import { listenEnv, logEnv, metricsEnv, parseEnv, realtimeSecretEnv, requireSharedSecret } from '@realtime/runtime';
import { changelogEnv } from '@realtime/changelog';
import type { RingBounds } from './replay/ring';
import { DEFAULT_HEARTBEAT, DEAD_LINK_NOTICE_MS, DEFAULT_LIMITS, type GatewayLimits, type Heartbeat } from './gateway';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const ORIGIN_EXAMPLE = 'https://app.example.com,http://localhost:5173';

/**
 * Why an entry of FRONTEND_URL is not an origin (scheme http or https, a host, nothing
 * after it), or null when it is. A browser's Origin header never carries a path, and a
 * value without a scheme (localhost:5173) matches no page at all: the page stays offline.
 */
export function originProblem(entry: string): string | null {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return `"${entry}" is not an origin: write the scheme and the host, e.g. ${ORIGIN_EXAMPLE}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${entry}" has no http:// or https:// scheme: write it as the browser's address bar shows it, e.g. ${ORIGIN_EXAMPLE}`;
  if (!url.hostname) return `"${entry}" has no host, e.g. ${ORIGIN_EXAMPLE}`;
  if (url.username || url.password) return `"${entry}" carries credentials: an origin is only scheme://host[:port]`;
  if (url.pathname !== '/' || url.search || url.hash) return `"${entry}" has a path: an origin is only scheme://host[:port], e.g. ${url.origin}`;
  return null;
}

export const gatewayEnv = {
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
    .transform((s, ctx) => {
      const entries = s.split(',').map((u) => u.trim()).filter(Boolean);
      for (const entry of entries) {
        const problem = originProblem(entry);
        if (problem) ctx.addIssue({ code: 'custom', message: `FRONTEND_URL lists origins separated by commas; ${problem}` });
      }
      // As browsers send them: no trailing slash, the host in lowercase.
      return entries.map((e) => (URL.canParse(e) ? new URL(e).origin : e));
    }),
  // What one client may cost (docs/gateway.md, "Limits"; each bound reached is
  // counted in realtime_limit_hits_total by name).
  MAX_SUBSCRIPTIONS_PER_SOCKET: int(1, 10_000, DEFAULT_LIMITS.maxSubscriptions),
  MAX_SOCKETS_PER_USER: int(1, 10_000, DEFAULT_LIMITS.maxSocketsPerUser),
  SUBSCRIBES_PER_SECOND: int(1, 10_000, DEFAULT_LIMITS.subscribesPerSecond),
  /**
   * With REDIS_URL, each socket holds a place in its user's count across gateways for this
   * long, renewed while it is open: a gateway killed without giving its places back frees them within it.
   */
  SOCKET_LEASE_SECONDS: int(5, 600, 30),
  SOCKET_QUEUE_BYTES: int(16 * 1024, 1024 ** 3, DEFAULT_LIMITS.queueBytes),
  REPLAY_PAGE_SIZE: int(10, 100_000, DEFAULT_LIMITS.pageSize),
  REPLAY_PAGE_BYTES: int(16 * 1024, 256 * 1024 ** 2, DEFAULT_LIMITS.pageBytes),
  MAX_CONCURRENT_REPLAYS: int(1, 1000, DEFAULT_LIMITS.maxConcurrentReplays),
  /** Replays of one user reading the outbox at once (per gateway process); the rest wait, behind that user's own. */
  MAX_REPLAYS_PER_USER: int(1, 1000, DEFAULT_LIMITS.maxReplaysPerUser),
  /** Recent changes of the live feed held in memory: replays they cover read no outbox rows. 0 holds none. */
  REPLAY_RING_CHANGES: int(0, 10_000_000, 0),
  /** The bytes of row images the ring may hold (64 MiB by default); the oldest changes go first. */
  REPLAY_RING_BYTES: int(0, 16 * 1024 ** 3, 64 * 1024 ** 2),
  /** Connections of the replay pool, apart from the API's. */
  REPLAY_POOL_SIZE: int(1, 100, 4),
  /**
   * Socket.IO's heartbeat: a link that dies without a close (a network switch, a sleeping
   * laptop) is noticed by both ends within their sum, which checkHeartbeat holds to the
   * README's promise; the client learns both from the handshake.
   */
  PING_INTERVAL_MS: int(1000, 60_000, DEFAULT_HEARTBEAT.pingInterval),
  PING_TIMEOUT_MS: int(1000, 60_000, DEFAULT_HEARTBEAT.pingTimeout),
};

const gatewayPiece = z.object(gatewayEnv);
/** The gateway's own variables, as any schema that spreads gatewayEnv parses them. */
export type GatewaySettings = z.infer<typeof gatewayPiece>;

/** A refinement across two variables: every schema that spreads gatewayEnv calls it in its superRefine. */
export function checkHeartbeat(env: { PING_INTERVAL_MS: number; PING_TIMEOUT_MS: number }, ctx: z.RefinementCtx): void {
  if (env.PING_INTERVAL_MS + env.PING_TIMEOUT_MS > DEAD_LINK_NOTICE_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['PING_TIMEOUT_MS'],
      message: `PING_INTERVAL_MS + PING_TIMEOUT_MS is ${env.PING_INTERVAL_MS + env.PING_TIMEOUT_MS} ms; at most ${DEAD_LINK_NOTICE_MS} ms, so that a dead link is noticed within ${DEAD_LINK_NOTICE_MS / 1000} s`,
    });
  }
}

/**
 * `npm run gateway`: the database, the log, its HTTP face, the token secret (which it must
 * share with the API that issues the tokens), the gateway's own, and the shared change
 * log it reads its live feed from (REDIS_URL, optional).
 */
export const gatewayEnvSchema = z
  .object({ ...logEnv, ...dbEnv, ...listenEnv, ...metricsEnv, ...realtimeSecretEnv, ...gatewayEnv, ...changelogEnv })
  .superRefine((env, ctx) => {
    checkHeartbeat(env, ctx);
    requireSharedSecret(env, ctx, 'for a gateway of its own: the API that issues the tokens must sign them with the same secret');
  });

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export function loadGatewayEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  return parseEnv(gatewayEnvSchema, source);
}

export function gatewayHeartbeat(env: GatewaySettings): Heartbeat {
  return { pingInterval: env.PING_INTERVAL_MS, pingTimeout: env.PING_TIMEOUT_MS };
}

/** The bounds of the ring of recent feed batches that replays read first. */
export function gatewayRing(env: GatewaySettings): RingBounds {
  return { changes: env.REPLAY_RING_CHANGES, bytes: env.REPLAY_RING_BYTES };
}

export function gatewayLimits(env: GatewaySettings): GatewayLimits {
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
