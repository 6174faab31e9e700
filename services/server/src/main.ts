// `npm start`: the whole stream in one process. Database (embedded unless DATABASE_URL is
// set), migrations, demo data (DEMO=1), the replicator in a worker thread (REPLICATOR=1;
// 0 beside a separate `npm run replicator`), and on one HTTP server on PORT the API at
// /api, the gateway at /ws, the web app, /healthz and /status. With REDIS_URL (and the
// replicator here) the leader's stamped changes also go to the shared change log. The
// parts are the same services `npm run api`, `npm run gateway` and `npm run replicator`
// run alone. SIGTERM or Ctrl-C stops them in reverse order.
import path from 'node:path';
import pg from 'pg';
import { checkStatementTimeout, namingStartupRefusal, openDatabase, readStatus, redactUrl, repoRoot, registerDatabaseGauges, runMigrations, warnIfPrivileged, watchPool, type Service as Login } from '@realtime/db';
import { LISTEN_BACKLOG, buildHttp, createLogger, loadEnvOrExit, processHealth, realtimeSecret, runProcess, startServices, type Service } from '@realtime/runtime';
import { ChangeLogAppender, replicatorConfig, replicatorService } from '@realtime/replicator';
import { changelogFromEnv } from '@realtime/changelog';
import { sharedRedisFromEnv } from '@realtime/shared-limits';
import { GatewayService } from '@realtime/gateway';
import { ApiService, demoUsersFile, seedDemo } from '@realtime/api';
import { loadServerEnv, type ServerEnv } from './env';

const env: ServerEnv = loadEnvOrExit(() => loadServerEnv());
const log = createLogger(env.LOG_LEVEL, { service: 'realtime' }, { format: env.LOG_FORMAT });
let migrated = false;

async function main(): Promise<() => Promise<void>> {
  const db = await openDatabase(env, log);
  // The API's pool and the replays' pool apart: however many clients resume at once, the
  // API keeps its connections. Each part connects as its own login role: the gateway's,
  // which serves sockets, only reads. These URLs may lead through a transaction pooler
  // (PgBouncer): nothing is set per session or sent at startup beyond application_name.
  // A statement that runs too long is cancelled on all three by the login roles' own
  // statement_timeout, which the owner writes when it migrates (checked below).
  const pool = watchPool(new pg.Pool({ connectionString: db.logins.api.url, max: 8, application_name: 'realtime-api' }), log);
  const replayPool = watchPool(new pg.Pool({ connectionString: db.logins.gateway.url, max: env.REPLAY_POOL_SIZE, application_name: 'realtime-replay' }), log);
  // The live feed's reads wait behind neither: a replay storm must not delay live changes.
  const feedPool = watchPool(new pg.Pool({ connectionString: db.logins.gateway.url, max: 2, application_name: 'realtime-feed' }), log);
  // Demo data and the simulator write past row-level security, as a backend would: as the owner.
  const demoPool = env.DEMO === '1' ? watchPool(new pg.Pool({ connectionString: db.url, max: 2, application_name: 'realtime-demo' }), log) : null;
  registerDatabaseGauges(pool);
  const { secret, generated } = realtimeSecret(env);

  // In a worker thread (REPLICATOR_THREAD=0: on this one): WAL decoding and stamping do not
  // take turns with the sockets and the API. Its stamped rows still reach the feed in-process.
  const replicator = env.REPLICATOR === '1' ? replicatorService(replicatorConfig(env, db.logins.replicator.directUrl, log), { thread: env.REPLICATOR_THREAD === '1' }) : null;
  // The change log reads the outbox for its gap fills as the replicator's login, on a pool
  // of its own; neither exists without REDIS_URL. Beside a separate replicator
  // (REPLICATOR=0) that one appends.
  const changelog = replicator ? changelogFromEnv(env, log) : null;
  const changelogPool = changelog ? watchPool(new pg.Pool({ connectionString: db.logins.replicator.url, max: 2, application_name: 'realtime-changelog' }), log) : null;
  const appender = replicator && changelog && changelogPool ? new ChangeLogAppender({ replicator: replicator.replicator, pool: changelogPool, changelog, log }) : null;
  // REDIS_URL: sockets per user and the sign-in and write budgets are counted with every
  // other process of the deployment (one connection for both parts); in this one while Redis is away.
  const sharedLimits = sharedRedisFromEnv(env, log);
  sharedLimits?.start();
  const api = new ApiService({ pool, demoPool, log, settings: env, secret, metricsToken: env.METRICS_TOKEN, webDist: path.join(repoRoot, 'web', 'dist'), ...(sharedLimits ? { sharedLimits } : {}) });
  const parts: Service[] = [];
  const http = buildHttp({
    log,
    health: () => processHealth(migrated, parts),
    status: async () => ({
      process: replicator?.status() ?? null,
      ...(appender ? { changelog: appender.status() } : {}),
      gateway: gateway.stats(),
      feed: gateway.feedStatus(),
      database: await readStatus(pool).catch((err: unknown) => ({ error: (err as Error).message })),
    }),
    // A replicator in a worker thread keeps its metrics in that thread's registry.
    foreignMetrics: async () => {
      const m = await replicator?.replicator.foreignMetrics?.();
      return m ? [m] : [];
    },
    // Only the named proxies are asked who the client was (api/src/limits/proxy.ts says why).
    trustProxy: env.TRUST_PROXY,
    limits: { requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS, bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES },
    prepare: (app) => api.prepare(app),
  });
  // With REDIS_URL the gateway also reads the change log: this process's replicator may be
  // a standby (another process leads and appends), or absent (REPLICATOR=0).
  const feedLog = changelogFromEnv(env, log);
  const gateway = new GatewayService({ httpServer: http.server, pool, replayPool, feedPool, directUrl: db.logins.gateway.directUrl, log, settings: env, secret, source: replicator?.replicator, ...(feedLog ? { changeLog: feedLog } : {}), ...(sharedLimits ? { sharedLimits } : {}) });
  // The gateway first (its feed takes the replicator's batches from the first one), the API
  // last; the change log's appender just before the replicator, so it stops after it.
  parts.push(gateway, ...(appender ? [appender] : []), ...(replicator ? [replicator] : []), api);

  // Without DATABASE_URL the owner migrates apart (compose's migrate service), before this starts.
  // Directly, never through a pooler: the migrations hold a session's advisory lock.
  if (db.migrates) await runMigrations(db.directUrl, log, { waitMs: env.DB_WAIT_SECONDS * 1000, roles: db.loginRoles, statementTimeoutMs: env.STATEMENT_TIMEOUT_MS });
  migrated = true;
  for (const [service, servicePool] of [['api', pool], ['gateway', feedPool]] as [Login, pg.Pool][]) {
    const login = db.logins[service];
    await namingStartupRefusal(login.variable ?? 'DATABASE_URL', () =>
      checkStatementTimeout(servicePool, { service, url: login.url, expectedMs: env.STATEMENT_TIMEOUT_MS, ownLogin: db.loginRoles.some((r) => r.service === service) }, log),
    );
    await warnIfPrivileged(servicePool, service, login.url, log);
  }
  const demoLines = demoPool ? await seedDemo({ ownerUrl: db.url, demoPool, log, usersFile: demoUsersFile(env.DEMO_USERS_FILE, repoRoot, db.embedded?.dataDir ?? null) }) : null;
  // The app schema's streamed tables, read after the migrations that declare them.
  await api.mount(http);
  const stopServices = await startServices(parts, log);
  await http.listen({ port: env.PORT, host: env.HOST, backlog: LISTEN_BACKLOG });
  const port = (http.server.address() as { port: number }).port;
  log.info({ database: redactUrl(db.url), port, channels: gateway.channels }, 'ready');
  const local = env.HOST === '127.0.0.1' || env.HOST === 'localhost' || env.HOST === '::1';
  const lines = [
    '',
    `Open http://localhost:${port} (the app; realtime stream running)`,
    `  API: /api/projects, /api/extraction-jobs, ...   Socket.IO: /ws (auth: { token })   Health: /healthz   Status: /status`,
    `  Database:   ${redactUrl(db.url)}${db.embedded ? ' (embedded)' : ''}`,
    local ? `  Listening on ${env.HOST} only (HOST=0.0.0.0 serves other machines; put TLS in front first)` : `  Listening on ${env.HOST}:${port} over plain HTTP: put a proxy with TLS in front (docs/operations.md, "The proxy, TLS and origins")`,
  ];
  if (generated) log.warn('REALTIME_JWT_SECRET is not set: a random secret was generated, fine for a demo, not for several processes');
  if (demoLines) lines.push(...(await demoLines()));
  process.stdout.write(`${lines.join('\n')}\n`);
  return async () => {
    await stopServices();
    await feedLog?.close();
    await http.close();
    await sharedLimits?.close();
    await replayPool.end();
    await feedPool.end();
    await pool.end();
    await demoPool?.end();
    await changelogPool?.end();
    await db.stop();
  };
}

await runProcess(log, main);
