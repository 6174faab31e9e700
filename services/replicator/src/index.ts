export { Replicator, LEADER_LOCK, OUTBOX_CHANNEL, type ReplicatorConfig, type ReplicatorLike, type ReplicatorStatus, type StampListener } from './replicator';
export { ReplicatorThread, type ThreadOptions } from './thread/thread';
export { ReplicatorService, replicatorService, replicatorHealth } from './service';
export { loadReplicatorEnv, replicatorEnvSchema, replicatorEnv, changelogEnv, type ReplicatorEnv, type ReplicatorSettings, type ChangelogSettings } from './env';
export { replicatorConfig, changelogFromEnv } from './config';
export { ChangeLogAppender, type ChangeLogAppenderOptions, type ChangeLogStatus } from './changelog/appender';
