// The replicator process, and for now also `npm start`: database (embedded unless
// DATABASE_URL is set), migrations, demo data (DEMO=1), the replicator, and an HTTP
// server on PORT with /healthz. SIGTERM or Ctrl-C stops it in reverse order.
import pg from 'pg';
import { createLogger, loadEnvOrExit, namingStartupRefusal, runProcess, openDatabase, redactUrl, runMigrations, seedIfEmpty, warnIfPrivileged, watchPool } from '@realtime/db';
import { loadReplicatorEnv, type ReplicatorEnv } from './env';
import { buildHttp, requireMetricsToken } from './http';
import { Replicator } from './replicator';
import { replicatorConfig } from './config';

const env: ReplicatorEnv = loadEnvOrExit(() => loadReplicatorEnv());
const log = createLogger(env.LOG_LEVEL, { service: 'replicator' }, { format: env.LOG_FORMAT });
const state: { migrated: boolean; replicator: Replicator | null } = { migrated: false, replicator: null };

async function main(): Promise<() => Promise<void>> {
  const db = await openDatabase(env, log);
  const pool = new pg.Pool({ connectionString: db.logins.replicator.url, max: 4, application_name: 'realtime-replicator-status' });
  // A pooled connection that dies (a Postgres restart), idle or in use, must not take the process with it.
  watchPool(pool, log);
  const http = buildHttp({ log, pool, state: () => state, prepare: (app) => requireMetricsToken(app, env.METRICS_TOKEN) });
  await http.listen({ port: env.PORT, host: env.HOST });
  // Without DATABASE_URL the owner migrates apart (compose's migrate service), before this starts.
  // Directly, never through a pooler: the migrations hold a session's advisory lock.
  if (db.migrates) await runMigrations(db.directUrl, log, { waitMs: env.DB_WAIT_SECONDS * 1000, roles: db.loginRoles, statementTimeoutMs: env.STATEMENT_TIMEOUT_MS });
  state.migrated = true;
  await namingStartupRefusal(db.logins.replicator.variable ?? 'DATABASE_URL', () => warnIfPrivileged(pool, 'replicator', db.logins.replicator.url, log));
  if (env.DEMO === '1') await seedIfEmpty(db.url, log);
  const replicator = new Replicator(replicatorConfig(env, db.logins.replicator.directUrl, log));
  state.replicator = replicator;
  await replicator.start();
  const port = (http.server.address() as { port: number }).port;
  log.info({ database: redactUrl(db.url), port }, 'ready');
  process.stdout.write(`\nReplicator running. Health: http://localhost:${port}/healthz  Status: http://localhost:${port}/status\nDatabase: ${redactUrl(db.url)}\n`);
  return async () => {
    await replicator.stop();
    await http.close();
    await pool.end();
    await db.stop();
  };
}

await runProcess(log, main);
