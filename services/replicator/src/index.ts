export { Replicator, LEADER_LOCK, STAMPED_CHANNEL, OUTBOX_CHANNEL, type ReplicatorConfig, type ReplicatorLike, type ReplicatorStatus, type StampListener } from './replicator';
export { ReplicatorThread, type ThreadOptions } from './thread/thread';
export { metricsText, type MetricsJson } from './metrics';
export type { StampedChange } from './sequencer/stamp';
export { readStatus, type DbStatus } from './state';
export { loadReplicatorEnv, replicatorEnvSchema, type ReplicatorEnv } from './env';
export { replicatorConfig } from './config';
export { buildHttp, health, requireMetricsToken, sameSecret, serverTimeouts, clientErrorAnswer, HTTP_LIMIT_DEFAULTS, type HttpLimits, type HttpState } from './http';
export { noteLimited, WarnWindow, type Limit } from './limited';
