// From validated environment to the replicator's settings, and to its change log.
import type { Logger } from '@realtime/runtime';
import { ChangeLog } from '@realtime/changelog';
import type { ChangelogSettings, ReplicatorSettings } from './env';
import type { ReplicatorConfig } from './replicator';

export function replicatorConfig(env: ReplicatorSettings, directUrl: string, log: Logger): ReplicatorConfig {
  return {
    directUrl,
    slot: env.REPLICATION_SLOT,
    publication: env.PUBLICATION,
    batchSize: env.STAMP_BATCH_SIZE,
    lingerMs: env.STAMP_LINGER_MS,
    stampCommit: env.STAMP_COMMIT,
    earlyDelivery: env.STAMP_EARLY === '1',
    safetyPollMs: env.SAFETY_POLL_MS,
    walRetryMs: env.WAL_RETRY_MS,
    log,
  };
}

/**
 * The change log the leader appends to, from CHANGELOG_*; null without REDIS_URL (no log).
 * Not connected yet: the appender connects when it starts.
 */
export function changelogFromEnv(env: ChangelogSettings, log: Logger): ChangeLog | null {
  if (env.REDIS_URL === undefined) return null;
  // The appender says once that the log is lost and once that it is back, for both of the
  // log's connections and for a Redis that is frozen rather than gone; the log's own
  // per-connection lines would repeat it, so only its errors are kept.
  const quiet = log.child({}, { level: 'error' });
  return new ChangeLog({ url: env.REDIS_URL, prefix: env.CHANGELOG_PREFIX, retention: { maxLen: env.CHANGELOG_MAX_ENTRIES, minAgeMs: env.CHANGELOG_RETENTION }, log: quiet });
}
