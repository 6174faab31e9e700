// The shared limits from the environment: REDIS_URL and CHANGELOG_PREFIX (runtime's
// redisEnv piece, which each process spreads into its own schema). Without REDIS_URL,
// none: every limit is counted in its process.
import type { Logger } from '@realtime/runtime';
import { SharedRedis } from './redis';

/** Not connected yet: the process starts it with its services (start()) and closes it at stop. */
export function sharedRedisFromEnv(env: { REDIS_URL?: string | undefined; CHANGELOG_PREFIX: string }, log: Logger): SharedRedis | null {
  if (env.REDIS_URL === undefined) return null;
  return new SharedRedis({ url: env.REDIS_URL, prefix: env.CHANGELOG_PREFIX, log });
}
