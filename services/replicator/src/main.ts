// `npm run replicator`: the replicator alone, against DATABASE_URL (or its own login,
// DATABASE_URL_REPLICATOR), with /healthz, and /status and /metrics behind METRICS_TOKEN.
// It migrates first when it holds the owner's URL, seeds demo data (DEMO=1), and stamps
// as leader or waits as standby; with REDIS_URL, the leader also appends every stamped
// change to the shared change log. SIGTERM or Ctrl-C stops it in reverse order.
import pg from 'pg';
import { namingStartupRefusal, openDatabase, readStatus, redactUrl, registerDatabaseGauges, runMigrations, seedIfEmpty, warnIfPrivileged, watchPool } from '@realtime/db';
import { buildHttp, createLogger, loadEnvOrExit, processHealth, requireMetricsToken, runProcess, startServices } from '@realtime/runtime';
import { loadReplicatorEnv, type ReplicatorEnv } from './env';
import { changelogFromEnv } from '@realtime/changelog';
import { replicatorConfig } from './config';
import { ChangeLogAppender } from './changelog/appender';
import { replicatorService } from './service';

const env: ReplicatorEnv = loadEnvOrExit(() => loadReplicatorEnv());
const log = createLogger(env.LOG_LEVEL, { service: 'replicator' }, { format: env.LOG_FORMAT });
let migrated = false;

async function main(): Promise<() => Promise<void>> {
  const db = await openDatabase(env, log);
  const pool = new pg.Pool({ connectionString: db.logins.replicator.url, max: 4, application_name: 'realtime-replicator-status' });
  // A pooled connection that dies (a Postgres restart), idle or in use, must not take the process with it.
  watchPool(pool, log);
  registerDatabaseGauges(pool);
  // On this thread: the process has nothing else to do.
  const replicator = replicatorService(replicatorConfig(env, db.logins.replicator.directUrl, log), { thread: false });
  const changelog = changelogFromEnv(env, log);
  const appender = changelog ? new ChangeLogAppender({ replicator: replicator.replicator, pool, changelog, log }) : null;
  const http = buildHttp({
    log,
    health: () => processHealth(migrated, appender ? [appender, replicator] : [replicator]),
    status: async () => ({
      process: replicator.status(),
      ...(appender ? { changelog: appender.status() } : {}),
      gateway: null,
      database: await readStatus(pool).catch((err: unknown) => ({ error: (err as Error).message })),
    }),
    prepare: (app) => requireMetricsToken(app, env.METRICS_TOKEN),
  });
  await http.listen({ port: env.PORT, host: env.HOST });
  // Without DATABASE_URL the owner migrates apart (compose's migrate service), before this starts.
  // Directly, never through a pooler: the migrations hold a session's advisory lock.
  if (db.migrates) await runMigrations(db.directUrl, log, { waitMs: env.DB_WAIT_SECONDS * 1000, roles: db.loginRoles, statementTimeoutMs: env.STATEMENT_TIMEOUT_MS });
  migrated = true;
  await namingStartupRefusal(db.logins.replicator.variable ?? 'DATABASE_URL', () => warnIfPrivileged(pool, 'replicator', db.logins.replicator.url, log));
  if (env.DEMO === '1') await seedIfEmpty(db.url, log);
  // The appender before the replicator: subscribed before the first stamped batch, and
  // stopped after the last one (services stop in reverse order).
  const stopServices = await startServices(appender ? [appender, replicator] : [replicator], log);
  const port = (http.server.address() as { port: number }).port;
  log.info({ database: redactUrl(db.url), port }, 'ready');
  process.stdout.write(
    [
      '',
      `Replicator running on ${env.HOST}:${port}. Health: http://localhost:${port}/healthz  Status and metrics: /status, /metrics (Authorization: Bearer <METRICS_TOKEN>)`,
      `  Database: ${redactUrl(db.url)}${db.embedded ? ' (embedded)' : ''}`,
      '  Gateways (npm run gateway) on the same database stream what it stamps.',
      '',
    ].join('\n'),
  );
  return async () => {
    await stopServices();
    await http.close();
    await pool.end();
    await db.stop();
  };
}

await runProcess(log, main);
