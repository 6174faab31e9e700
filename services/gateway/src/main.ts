// `npm run gateway`: one gateway alone (Socket.IO at /ws), against DATABASE_URL (or its
// own login, DATABASE_URL_GATEWAY), with /healthz, and /status and /metrics behind
// METRICS_TOKEN. Several run side by side on one database; a replicator (npm run replicator)
// stamps what they stream and the API (npm run api) issues their tokens with the same
// REALTIME_JWT_SECRET. SIGTERM or Ctrl-C stops it in reverse order.
import pg from 'pg';
import { checkStatementTimeout, namingStartupRefusal, openDatabase, readStatus, redactUrl, registerDatabaseGauges, runMigrations, warnIfPrivileged, watchPool } from '@realtime/db';
import { LISTEN_BACKLOG, buildHttp, createLogger, loadEnvOrExit, processHealth, realtimeSecret, requireMetricsToken, runProcess, startServices } from '@realtime/runtime';
import { changelogFromEnv } from '@realtime/changelog';
import { sharedRedisFromEnv } from '@realtime/shared-limits';
import { loadGatewayEnv, type GatewayEnv } from './env';
import { GatewayService } from './service';

const env: GatewayEnv = loadEnvOrExit(() => loadGatewayEnv());
const log = createLogger(env.LOG_LEVEL, { service: 'gateway' }, { format: env.LOG_FORMAT });
/** How long an idle database connection is kept (pg's default is 10 s). */
const IDLE_CONNECTION_MS = 5 * 60_000;
let migrated = false;

async function main(): Promise<() => Promise<void>> {
  const db = await openDatabase(env, log);
  const login = db.logins.gateway;
  // Each pool apart (service.ts says why). These URLs may lead through a transaction
  // pooler; LISTEN goes to Postgres itself (login.directUrl).
  // Idle connections are kept for minutes, not pg's 10 s: a once-a-minute read (the
  // catalog, a scrape) on a fresh backend reads hundreds of catalog rows to warm its caches,
  // a cost every extra gateway would add to Postgres.
  const keep = { idleTimeoutMillis: IDLE_CONNECTION_MS };
  const pool = watchPool(new pg.Pool({ connectionString: login.url, max: 4, application_name: 'realtime-gateway', ...keep }), log);
  const replayPool = watchPool(new pg.Pool({ connectionString: login.url, max: env.REPLAY_POOL_SIZE, application_name: 'realtime-replay', ...keep }), log);
  const feedPool = watchPool(new pg.Pool({ connectionString: login.url, max: 2, application_name: 'realtime-feed', ...keep }), log);
  registerDatabaseGauges(pool);
  // Filled before the server listens: the gateway needs the server to attach to.
  const parts: GatewayService[] = [];
  const http = buildHttp({
    log,
    health: () => processHealth(migrated, parts),
    status: async () => ({
      process: null,
      gateway: parts[0]?.stats() ?? null,
      feed: parts[0]?.feedStatus() ?? null,
      database: await readStatus(pool).catch((err: unknown) => ({ error: (err as Error).message })),
    }),
    // No users here: /status and /metrics answer the operators' token only.
    prepare: (app) => requireMetricsToken(app, env.METRICS_TOKEN),
  });
  // REDIS_URL: the live feed from the shared change log (a replicator appends to it), the
  // outbox only for what it lacks. Connected by the feed, which carries on from the outbox
  // while Redis is away.
  const changeLog = changelogFromEnv(env, log);
  // REDIS_URL: each user's sockets are counted across gateways too (MAX_SOCKETS_PER_USER);
  // while Redis is away, on this gateway only.
  const sharedLimits = sharedRedisFromEnv(env, log);
  sharedLimits?.start();
  const gateway = new GatewayService({
    httpServer: http.server,
    pool,
    replayPool,
    feedPool,
    directUrl: login.directUrl,
    log,
    settings: env,
    secret: realtimeSecret(env).secret,
    ...(changeLog ? { changeLog } : {}),
    ...(sharedLimits ? { sharedLimits } : {}),
  });
  // Without DATABASE_URL the owner migrates apart (compose's migrate service), before this starts.
  if (db.migrates) await runMigrations(db.directUrl, log, { waitMs: env.DB_WAIT_SECONDS * 1000, roles: db.loginRoles, statementTimeoutMs: env.STATEMENT_TIMEOUT_MS });
  parts.push(gateway);
  migrated = true;
  await namingStartupRefusal(login.variable ?? 'DATABASE_URL', () =>
    checkStatementTimeout(pool, { service: 'gateway', url: login.url, expectedMs: env.STATEMENT_TIMEOUT_MS, ownLogin: db.loginRoles.some((r) => r.service === 'gateway') }, log),
  );
  await warnIfPrivileged(pool, 'gateway', login.url, log);
  const stopServices = await startServices([gateway], log);
  await http.listen({ port: env.PORT, host: env.HOST, backlog: LISTEN_BACKLOG });
  const port = (http.server.address() as { port: number }).port;
  log.info({ database: redactUrl(db.url), port, channels: gateway.channels }, 'ready');
  process.stdout.write(
    [
      '',
      `Gateway running on ${env.HOST}:${port}. Socket.IO: ws://localhost:${port}/ws (auth: { token, v })  Health: /healthz  Status and metrics: /status, /metrics (Authorization: Bearer <METRICS_TOKEN>)`,
      `  Database: ${redactUrl(db.url)}${db.embedded ? ' (embedded)' : ''}`,
      `  Sockets per user: counted ${sharedLimits ? `across gateways on ${redactUrl(env.REDIS_URL!)} (REDIS_URL)` : 'on this gateway (set REDIS_URL to count them across gateways)'}`,
      `  Live feed: ${changeLog ? `the change log at ${redactUrl(env.REDIS_URL!)} (REDIS_URL), the outbox for what it lacks` : 'the outbox (set REDIS_URL to read the shared change log instead)'}`,
      `  Streams: ${gateway.channels.join(', ') || '(no streamed table yet)'}; pages may connect from ${env.FRONTEND_URL.join(', ')} (FRONTEND_URL)`,
      '  Needs: a replicator on the same database (npm run replicator) and the API (npm run api) with the same REALTIME_JWT_SECRET to issue tokens.',
      '',
    ].join('\n'),
  );
  return async () => {
    await stopServices();
    await changeLog?.close();
    await sharedLimits?.close();
    await http.close();
    await replayPool.end();
    await feedPool.end();
    await pool.end();
    await db.stop();
  };
}

await runProcess(log, main);
