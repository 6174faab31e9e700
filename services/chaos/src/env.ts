// The chaos test's configuration: its own log level, and the environment the processes
// it starts inherit (without the variables it sets for them). The only reader of
// process.env here.
import { z } from 'zod';
import { parseEnv } from '@realtime/runtime';

export const chaosEnvSchema = z.object({
  CHAOS_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('warn'),
  /**
   * Clients writing through @realtime/client's write queue over a faulty network, each a
   * user of its own (queue-writers.ts); 0: none. A few are enough: each one's writes go
   * one at a time, and the faults are per client.
   */
  CHAOS_QUEUE_WRITERS: z.coerce.number().int().min(0).max(16).default(2),
});

export type ChaosEnv = z.infer<typeof chaosEnvSchema>;

export function loadChaosEnv(source: Record<string, string | undefined> = process.env): ChaosEnv {
  return parseEnv(chaosEnvSchema, source);
}

/**
 * Set by the stack for each process (RETENTION=forever: no retention prunes the outbox
 * the checker reads; REDIS_URL only the run's own redis-server, or none with --no-redis),
 * or left at their defaults on purpose (no OpenID Connect): a value from the caller's
 * shell must not leak in.
 */
const owned = /^(DATABASE_URL|PORT|REPLICATOR|DEMO|LOG_LEVEL|LOG_FORMAT|PG_CHANNELS|EMBEDDED_PG_|REALTIME_JWT_SECRET|REALTIME_TOKEN_TTL_SECONDS|METRICS_TOKEN|AUTH_|RETENTION|SOCKET_QUEUE_BYTES|REPLAY_PAGE_SIZE|WAL_RETRY_MS|SAFETY_POLL_MS|REDIS_URL|CHANGELOG_)/;

export function inheritedEnv(source: Record<string, string | undefined> = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(source).filter((e): e is [string, string] => e[1] !== undefined && !owned.test(e[0])));
}
