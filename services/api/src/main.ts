// `npm run api`: the HTTP API alone (and the built web app at /), against DATABASE_URL (or
// its own login, DATABASE_URL_API), with /healthz, and /status and /metrics for operators
// (a signed-in operator, or METRICS_TOKEN). It issues the realtime tokens that gateways
// (npm run gateway) check with the same REALTIME_JWT_SECRET; a replicator (npm run
// replicator) stamps what it writes. SIGTERM or Ctrl-C stops it in reverse order.
import path from 'node:path';
import pg from 'pg';
import { checkStatementTimeout, namingStartupRefusal, openDatabase, readStatus, redactUrl, registerDatabaseGauges, repoRoot, runMigrations, warnIfPrivileged, watchPool } from '@realtime/db';
import { LISTEN_BACKLOG, buildHttp, createLogger, loadEnvOrExit, processHealth, realtimeSecret, runProcess, startServices } from '@realtime/runtime';
import { sharedRedisFromEnv } from '@realtime/shared-limits';
import { loadApiEnv, type ApiEnv } from './env';
import { ApiService, seedDemo } from './service';
import { demoUsersFile } from './users/banner';

const env: ApiEnv = loadEnvOrExit(() => loadApiEnv());
const log = createLogger(env.LOG_LEVEL, { service: 'api' }, { format: env.LOG_FORMAT });
let migrated = false;

async function main(): Promise<() => Promise<void>> {
  const db = await openDatabase(env, log);
  const login = db.logins.api;
  const pool = watchPool(new pg.Pool({ connectionString: login.url, max: 8, application_name: 'realtime-api' }), log);
  // Demo data and the simulator write past row-level security, as a backend would: as the owner.
  const demoPool = env.DEMO === '1' ? watchPool(new pg.Pool({ connectionString: db.url, max: 2, application_name: 'realtime-demo' }), log) : null;
  registerDatabaseGauges(pool);
  // REDIS_URL: the sign-in and write budgets are counted across API processes; while Redis is away, in this one.
  const sharedLimits = sharedRedisFromEnv(env, log);
  sharedLimits?.start();
  const api = new ApiService({ pool, demoPool, log, settings: env, secret: realtimeSecret(env).secret, metricsToken: env.METRICS_TOKEN, webDist: path.join(repoRoot, 'web', 'dist'), ...(sharedLimits ? { sharedLimits } : {}) });
  const http = buildHttp({
    log,
    health: () => processHealth(migrated, [api]),
    status: async () => ({
      process: null,
      gateway: null,
      database: await readStatus(pool).catch((err: unknown) => ({ error: (err as Error).message })),
    }),
    // Only the named proxies are asked who the client was (limits/proxy.ts says why).
    trustProxy: env.TRUST_PROXY,
    limits: { requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS, bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES },
    prepare: (app) => api.prepare(app),
  });
  // Without DATABASE_URL the owner migrates apart (compose's migrate service), before this starts.
  if (db.migrates) await runMigrations(db.directUrl, log, { waitMs: env.DB_WAIT_SECONDS * 1000, roles: db.loginRoles, statementTimeoutMs: env.STATEMENT_TIMEOUT_MS });
  migrated = true;
  await namingStartupRefusal(login.variable ?? 'DATABASE_URL', () =>
    checkStatementTimeout(pool, { service: 'api', url: login.url, expectedMs: env.STATEMENT_TIMEOUT_MS, ownLogin: db.loginRoles.some((r) => r.service === 'api') }, log),
  );
  await warnIfPrivileged(pool, 'api', login.url, log);
  const demoLines = demoPool ? await seedDemo({ ownerUrl: db.url, demoPool, log, usersFile: demoUsersFile(env.DEMO_USERS_FILE, repoRoot, db.embedded?.dataDir ?? null) }) : null;
  await api.mount(http);
  const stopServices = await startServices([api], log);
  await http.listen({ port: env.PORT, host: env.HOST, backlog: LISTEN_BACKLOG });
  const port = (http.server.address() as { port: number }).port;
  log.info({ database: redactUrl(db.url), port }, 'ready');
  const lines = [
    '',
    `API running on ${env.HOST}:${port}. API: http://localhost:${port}/api/...  Web app: /  Health: /healthz  Status and metrics: /status, /metrics (an operator, or Authorization: Bearer <METRICS_TOKEN>)`,
    `  Database: ${redactUrl(db.url)}${db.embedded ? ' (embedded)' : ''}`,
    `  Sign-in and write budgets: counted ${sharedLimits ? `across API processes on ${redactUrl(env.REDIS_URL!)} (REDIS_URL)` : 'in this process (set REDIS_URL to count them across API processes)'}`,
    '  Needs: gateways (npm run gateway) with the same REALTIME_JWT_SECRET for the stream at /ws (a proxy in front routes /ws to them), and a replicator (npm run replicator).',
  ];
  if (demoLines) lines.push(...(await demoLines()));
  process.stdout.write(`${lines.join('\n')}\n`);
  return async () => {
    await stopServices();
    await http.close();
    await sharedLimits?.close();
    await pool.end();
    await demoPool?.end();
    await db.stop();
  };
}

await runProcess(log, main);
