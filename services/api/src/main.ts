// `npm start`, and an API/gateway process of its own: database (embedded unless
// DATABASE_URL is set), migrations, demo data (DEMO=1), the replicator in a worker thread
// (REPLICATOR=1; set 0 beside a separate replicator), and on one HTTP server on PORT the
// API at /api, the gateway at /ws, /healthz and /status. SIGTERM or Ctrl-C stops it in
// reverse order.
import path from 'node:path';
import pg from 'pg';
import { checkStatementTimeout, createLogger, loadEnvOrExit, namingStartupRefusal, runProcess, openDatabase, redactUrl, repoRoot, runMigrations, seedIfEmpty, warnIfPrivileged, watchPool, type Service } from '@realtime/db';
import { Replicator, ReplicatorThread, buildHttp, replicatorConfig, type ReplicatorLike } from '@realtime/replicator';
import { drizzle } from 'drizzle-orm/node-postgres';
import { ChannelCatalog, Feed, Gateway, gatewayHeartbeat, gatewayLimits, jwtSecret } from '@realtime/gateway';
import { loadApiEnv, type ApiEnv } from './env';
import { Simulator } from './simulator';
import { startRetention } from './outbox/retention';
import { startIdempotencyPruning } from './writes/prune';
import { registerOutboxRoutes } from './outbox/routes';
import { errorHandler } from './errors';
import { registerRoutes } from './routes';
import { loadResources } from './resources';
import { registerMemberRoutes } from './members';
import { registerAuth } from './auth/routes';
import { Sessions } from './auth/sessions';
import { Oidc } from './auth/oidc';
import { seedDemoUsers } from './users/demo';
import { demoUsersFile, showDemoUsers } from './users/banner';
import { serveWebApp } from './static';
import { registerLimits } from './limits/http';

const env: ApiEnv = loadEnvOrExit(() => loadApiEnv());
const log = createLogger(env.LOG_LEVEL, { service: 'realtime' }, { format: env.LOG_FORMAT });
const state: { migrated: boolean; replicator: ReplicatorLike | null; gateway: Gateway | null } = { migrated: false, replicator: null, gateway: null };

async function main(): Promise<() => Promise<void>> {
  const db = await openDatabase(env, log);
  // The API's pool and the replays' pool apart: however many clients resume at once, the
  // API keeps its connections. Each part connects as its own login role: the gateway's,
  // which serves sockets, only reads. These URLs may lead through a transaction pooler
  // (PgBouncer): nothing is set per session or sent at startup beyond application_name.
  // A statement that runs too long is cancelled on all three by the login roles' own
  // statement_timeout, which the owner writes when it migrates (checked below).
  const pool = new pg.Pool({ connectionString: db.logins.api.url, max: 8, application_name: 'realtime-api' });
  const replayPool = new pg.Pool({ connectionString: db.logins.gateway.url, max: env.REPLAY_POOL_SIZE, application_name: 'realtime-replay' });
  // The live feed's reads wait behind neither: a replay storm must not delay live changes.
  const feedPool = new pg.Pool({ connectionString: db.logins.gateway.url, max: 2, application_name: 'realtime-feed' });
  // A pooled connection that dies (a Postgres restart), idle or in use, must not take the process with it.
  watchPool(pool, log);
  watchPool(replayPool, log);
  watchPool(feedPool, log);
  const { secret, generated } = jwtSecret(env);
  const http = buildHttp({
    log,
    pool,
    state: () => ({ migrated: state.migrated, replicator: state.replicator, gateway: state.gateway?.stats() ?? null, standalone: env.REPLICATOR === '0' }),
    // Only the named proxies are asked who the client was (limits/proxy.ts says why).
    trustProxy: env.TRUST_PROXY,
    limits: { requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS, bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES },
    prepare: (app) => {
      // Headers and the write budget first: a 401 from the auth hook carries the headers too.
      registerLimits(app, { writesPerMinute: env.WRITES_PER_MINUTE });
      registerAuth(app, {
        pool,
        sessions: new Sessions(pool, env.SESSION_DAYS * 24 * 3600 * 1000),
        oidc: env.AUTH_JWKS_URL ? new Oidc(pool, { jwksUrl: env.AUTH_JWKS_URL, issuer: env.AUTH_ISSUER!, audience: env.AUTH_AUDIENCE! }) : null,
        jwtSecret: secret,
        tokenTtlSeconds: env.REALTIME_TOKEN_TTL_SECONDS,
        metricsToken: env.METRICS_TOKEN,
      });
    },
  });
  // Without DATABASE_URL the owner migrates apart (compose's migrate service), before this starts.
  // Directly, never through a pooler: the migrations hold a session's advisory lock.
  if (db.migrates) await runMigrations(db.directUrl, log, { waitMs: env.DB_WAIT_SECONDS * 1000, roles: db.loginRoles, statementTimeoutMs: env.STATEMENT_TIMEOUT_MS });
  state.migrated = true;
  for (const [service, servicePool] of [['api', pool], ['gateway', feedPool]] as [Service, pg.Pool][]) {
    const login = db.logins[service];
    await namingStartupRefusal(login.variable ?? 'DATABASE_URL', () =>
      checkStatementTimeout(servicePool, { service, url: login.url, expectedMs: env.STATEMENT_TIMEOUT_MS, ownLogin: db.loginRoles.some((r) => r.service === service) }, log),
    );
    await warnIfPrivileged(servicePool, service, login.url, log);
  }
  // Demo data and the simulator write past row-level security, as a backend would: as the owner.
  const demoPool = env.DEMO === '1' ? watchPool(new pg.Pool({ connectionString: db.url, max: 2, application_name: 'realtime-demo' }), log) : null;
  const demoUsers = demoPool ? (await seedIfEmpty(db.url, log), await seedDemoUsers(demoPool, log)) : null;

  // In a worker thread (REPLICATOR_THREAD=0: on this one): WAL decoding and stamping do not
  // take turns with the sockets and the API. Its stamped rows still reach the feed in-process.
  const replicatorCfg = replicatorConfig(env, db.logins.replicator.directUrl, log);
  const replicator: ReplicatorLike | null = env.REPLICATOR !== '1' ? null : env.REPLICATOR_THREAD === '1' ? new ReplicatorThread(replicatorCfg) : new Replicator(replicatorCfg);
  const feed = new Feed({ pool: feedPool, directUrl: db.logins.gateway.directUrl, log, replicator: replicator ?? undefined });
  http.setErrorHandler(errorHandler(log));
  const orm = drizzle({ client: pool, casing: 'snake_case' });
  // The app schema's streamed tables, read after the migrations that declare them.
  registerRoutes(http, { db: orm, resources: await loadResources(pool), cursorSecret: secret });
  registerMemberRoutes(http, { db: orm });
  registerOutboxRoutes(http, { pool, gatewayUrls: env.GATEWAY_URLS, lagWarnBytes: env.SLOT_LAG_WARN_BYTES, backlogWarnSeconds: env.BACKLOG_WARN_SECONDS, pageBytes: env.OUTBOX_PAGE_BYTES, log: log.child({ component: 'audit' }, { level: 'info' }) });
  serveWebApp(http, path.join(repoRoot, 'web', 'dist'));
  const simulator = demoPool ? new Simulator({ db: drizzle({ client: demoPool, casing: 'snake_case' }), log: log.child({ component: 'simulator' }), intervalMs: env.SIMULATOR_INTERVAL_MS }) : null;
  const gateway = new Gateway({
    httpServer: http.server,
    pool,
    feed,
    log,
    // Every streamed table (PG_CHANNELS narrows), and those declared while it runs.
    channels: await ChannelCatalog.load({ pool, log, only: env.PG_CHANNELS, listenUrl: db.logins.gateway.directUrl }),
    frontendUrls: env.FRONTEND_URL,
    jwtSecret: secret,
    replayPool,
    limits: gatewayLimits(env),
    heartbeat: gatewayHeartbeat(env),
  });
  await feed.start();
  gateway.start();
  await replicator?.start();
  state.replicator = replicator;
  state.gateway = gateway;
  await http.listen({ port: env.PORT, host: env.HOST });
  simulator?.start();
  const retention = env.RETENTION === null ? null : startRetention(pool, { keepMs: env.RETENTION, everyMs: env.RETENTION_INTERVAL_MS, log: log.child({ component: 'retention' }) });
  // Hourly is plenty for keys kept a day or more.
  const keyPruning = startIdempotencyPruning(pool, { ttlHours: env.IDEMPOTENCY_TTL_HOURS, everyMs: 3_600_000, log: log.child({ component: 'idempotency' }) });
  const port = (http.server.address() as { port: number }).port;
  log.info({ database: redactUrl(db.url), port, channels: gateway.channels }, 'ready');
  const local = env.HOST === '127.0.0.1' || env.HOST === 'localhost' || env.HOST === '::1';
  const lines = [
    '',
    `Open http://localhost:${port} (the app; realtime stream running)`,
    `  API: /api/projects, /api/extraction-jobs, ...   Socket.IO: /ws (auth: { token })   Health: /healthz   Status: /status`,
    `  Database:   ${redactUrl(db.url)}${db.embedded ? ' (embedded)' : ''}`,
    local ? `  Listening on ${env.HOST} only (HOST=0.0.0.0 serves other machines; put TLS in front first)` : `  Listening on ${env.HOST}:${port} over plain HTTP: put a proxy with TLS in front (README, "Running in production")`,
  ];
  if (generated) log.warn('REALTIME_JWT_SECRET is not set: a random secret was generated, fine for a demo, not for several processes');
  if (demoUsers) {
    const shown = await showDemoUsers(demoUsers, { tty: process.stdout.isTTY === true, file: demoUsersFile(env.DEMO_USERS_FILE, repoRoot, db.embedded?.dataDir ?? null) });
    lines.push(...shown.lines);
    if (shown.file) log.info({ file: shown.file }, 'demo users created; their passwords are in this file (mode 0600)');
  } else if (env.DEMO === '1') {
    lines.push('', '  Demo users: owner@demo.example, viewer@demo.example, operator@demo.example (passwords were given at first start;', '  `npm run users -- reset-password <email>` prints a new one; `npm run users -- list` shows every user)');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return async () => {
    await simulator?.stop();
    await retention?.stop();
    await keyPruning.stop();
    await gateway.stop();
    await http.close();
    await replicator?.stop();
    await feed.stop();
    await replayPool.end();
    await feedPool.end();
    await pool.end();
    await demoPool?.end();
    await db.stop();
  };
}

await runProcess(log, main);
