export { Replicator, LEADER_LOCK, OUTBOX_CHANNEL, type ReplicatorConfig, type ReplicatorLike, type ReplicatorStatus, type StampListener } from './replicator';
export { ReplicatorThread, type ThreadOptions } from './thread/thread';
export { ReplicatorService, replicatorService, replicatorHealth } from './service';
export { loadReplicatorEnv, replicatorEnvSchema, replicatorEnv, type ReplicatorEnv, type ReplicatorSettings } from './env';
export { replicatorConfig } from './config';
export { ChangeLogAppender, type ChangeLogAppenderOptions, type ChangeLogStatus } from './changelog/appender';
