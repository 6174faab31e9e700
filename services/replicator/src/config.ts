// From validated environment to the replicator's settings.
import type { Logger } from '@realtime/runtime';
import type { ReplicatorSettings } from './env';
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
