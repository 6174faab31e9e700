export * from './schema';
export { loadDbEnv, parseEnv, dbEnvSchema, EnvError, type DbEnv } from './env';
export { createLogger, type Logger } from './log';
export { runMigrations, migrationsFolder } from './migrate';
export { openDatabase, redactUrl, repoRoot, APP_DATABASE, type Database } from './database';
export { startCluster, ensureDatabase, freePort, EmbeddedPostgresError, type Cluster, type ClusterOptions } from './embedded/cluster';
export { seedIfEmpty } from './seed';
export { describeError } from './cli/run';
export { runProcess, type Stop } from './process';
