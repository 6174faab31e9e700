// `npm start`, and an API/gateway process of its own: database (embedded unless
// DATABASE_URL is set), migrations, demo data (DEMO=1), the replicator in-process
// (REPLICATOR=1; set 0 beside a separate replicator), and on one HTTP server on PORT the
// API at /api, the gateway at /ws, /healthz and /status. SIGTERM or Ctrl-C stops it in
// reverse order.
import path from 'node:path';
import pg from 'pg';
import { createLogger, loadEnvOrExit, runProcess, openDatabase, redactUrl, repoRoot, runMigrations, seedIfEmpty } from '@realtime/db';
import { Replicator, buildHttp, replicatorConfig } from '@realtime/replicator';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Feed, Gateway, jwtSecret, loadChannelColumns, signToken } from '@realtime/gateway';
import { loadApiEnv, type ApiEnv } from './env';
import { Simulator } from './simulator';
import { startRetention } from './outbox/retention';
import { registerOutboxRoutes } from './outbox/routes';
import { errorHandler } from './errors';
import { registerRoutes } from './routes';
import { serveWebApp } from './static';

const env: ApiEnv = loadEnvOrExit(() => loadApiEnv());
const log = createLogger(env.LOG_LEVEL, { service: 'realtime' });
const state: { migrated: boolean; replicator: Replicator | null; gateway: Gateway | null } = { migrated: false, replicator: null, gateway: null };

async function main(): Promise<() => Promise<void>> {
  const db = await openDatabase(env, log);
  const pool = new pg.Pool({ connectionString: db.url, max: 8, application_name: 'realtime-gateway' });
  // An idle pooled connection that dies (a Postgres restart) must not take the process with it.
  pool.on('error', (err) => log.warn({ err }, 'a pooled database connection closed; it will be replaced'));
  const http = buildHttp({
    log,
    pool,
    state: () => ({ migrated: state.migrated, replicator: state.replicator, gateway: state.gateway?.stats() ?? null, standalone: env.REPLICATOR === '0' }),
  });
  await runMigrations(db.url, log);
  state.migrated = true;
  if (env.DEMO === '1') await seedIfEmpty(db.url, log);

  const replicator = env.REPLICATOR === '1' ? new Replicator(replicatorConfig(env, db.directUrl, log)) : null;
  const feed = new Feed({ pool, directUrl: db.directUrl, log, replicator: replicator ?? undefined });
  const { secret, generated } = jwtSecret(env);
  http.setErrorHandler(errorHandler(log));
  const orm = drizzle({ client: pool, casing: 'snake_case' });
  registerRoutes(http, { db: orm, jwtSecret: secret });
  registerOutboxRoutes(http, { pool, gatewayUrls: env.GATEWAY_URLS, lagWarnBytes: env.SLOT_LAG_WARN_BYTES, backlogWarnSeconds: env.BACKLOG_WARN_SECONDS });
  serveWebApp(http, path.join(repoRoot, 'web', 'dist'));
  const simulator = env.DEMO === '1' ? new Simulator({ db: orm, log: log.child({ component: 'simulator' }), intervalMs: env.SIMULATOR_INTERVAL_MS }) : null;
  const gateway = new Gateway({
    httpServer: http.server,
    pool,
    feed,
    log,
    channels: env.PG_CHANNELS,
    columns: await loadChannelColumns(pool, env.PG_CHANNELS),
    frontendUrl: env.FRONTEND_URL,
    jwtSecret: secret,
    maxSubscriptions: env.MAX_SUBSCRIPTIONS_PER_SOCKET,
    queueLimit: env.SOCKET_QUEUE_LIMIT,
    pageSize: env.REPLAY_PAGE_SIZE,
  });
  await feed.start();
  gateway.start();
  await replicator?.start();
  state.replicator = replicator;
  state.gateway = gateway;
  await http.listen({ port: env.PORT, host: '0.0.0.0' });
  simulator?.start();
  const retention = env.RETENTION ? startRetention(pool, { keepMs: env.RETENTION, everyMs: env.RETENTION_INTERVAL_MS, log: log.child({ component: 'retention' }) }) : null;
  const port = (http.server.address() as { port: number }).port;
  log.info({ database: redactUrl(db.url), port, channels: env.PG_CHANNELS }, 'ready');
  const lines = [
    '',
    `Open http://localhost:${port} (the app; realtime stream running)`,
    `  API: /api/projects, /api/extraction-jobs, ...   Socket.IO: /ws (auth: { token })   Health: /healthz   Status: /status`,
    `  Database:   ${redactUrl(db.url)}${db.embedded ? ' (embedded)' : ''}`,
  ];
  if (generated) {
    log.warn('REALTIME_JWT_SECRET is not set: a random secret was generated, fine for a demo, not for several processes');
    lines.push(`  Demo token (every channel and project, 12 h): ${await signToken(secret, { channels: ['*'], projects: ['*'] }, { subject: 'demo', ttlSeconds: 12 * 3600 })}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return async () => {
    await simulator?.stop();
    await retention?.stop();
    await gateway.stop();
    await http.close();
    await replicator?.stop();
    await feed.stop();
    await pool.end();
    await db.stop();
  };
}

await runProcess(log, main);
