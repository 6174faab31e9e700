export { Replicator, LEADER_LOCK, STAMPED_CHANNEL, OUTBOX_CHANNEL, type ReplicatorConfig, type ReplicatorStatus, type StampListener } from './replicator';
export type { StampedChange } from './sequencer/stamp';
export { readStatus, type DbStatus } from './state';
export { loadReplicatorEnv, replicatorEnvSchema, type ReplicatorEnv } from './env';
export { replicatorConfig } from './config';
export { buildHttp, health, requireMetricsToken, sameSecret, serverTimeouts, clientErrorAnswer, HTTP_LIMIT_DEFAULTS, type HttpLimits, type HttpState } from './http';
export { noteLimited, WarnWindow, type Limit } from './limited';
