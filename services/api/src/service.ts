// The API as a service of a process: its hooks (limits, sign-in, sessions) and routes
// on the process's HTTP server, and its periodic jobs (retention, idempotency keys, the
// demo simulator) started and stopped with it. The routes are mounted once migrated (the
// streamed tables are read from the schema); the jobs run from start to stop.
import path from 'node:path';
import type pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { drizzle } from 'drizzle-orm/node-postgres';
import { seedIfEmpty } from '@realtime/db';
import { HEALTHY, type Health, type Logger, type Service } from '@realtime/runtime';
import { Leases, sharedRateStore, type SharedRedis } from '@realtime/shared-limits';
import type { ApiSettings } from './env';
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
import { serveWebApp } from './static';
import { registerLimits } from './limits/http';
import type { Periodic } from './periodic';
import { seedDemoUsers } from './users/demo';
import { showDemoUsers } from './users/banner';

export interface ApiServiceOptions {
  /** The API's own login (row-level security applies). */
  pool: pg.Pool;
  /** The owner's pool for the demo simulator (it writes past row-level security, as a backend would); null: no simulator. */
  demoPool: pg.Pool | null;
  log: Logger;
  settings: ApiSettings;
  /** REALTIME_JWT_SECRET as bytes: realtime tokens and list cursors are signed with it. */
  secret: Uint8Array;
  metricsToken: string | undefined;
  /** The built web app, served at / (web/dist). */
  webDist: string;
  /** Redis for the limits counted across API processes (REDIS_URL): the write and sign-in budgets. Its owner starts and closes it. */
  sharedLimits?: SharedRedis;
}

export class ApiService implements Service {
  readonly name = 'api';
  private jobs: { stop(): Promise<void> }[] = [];
  private running = false;
  /** The sign-ins in flight on every API process (REDIS_URL), renewed while it runs. */
  private readonly attempts: Leases | null;

  constructor(private readonly opts: ApiServiceOptions) {
    this.attempts = opts.sharedLimits ? new Leases({ redis: opts.sharedLimits, set: 'attempts' }) : null;
  }

  /** Before any route (buildHttp's prepare): the headers, the write budget and sign-in guard every route, /status and /metrics included. */
  prepare(app: FastifyInstance): void {
    const { opts } = this;
    const s = opts.settings;
    // With REDIS_URL the budgets are counted across API processes, and in this one while Redis is away.
    const store = opts.sharedLimits ? sharedRateStore(opts.sharedLimits) : undefined;
    // Headers and the write budget first: a 401 from the auth hook carries the headers too.
    registerLimits(app, { writesPerMinute: s.WRITES_PER_MINUTE, ...(store ? { store } : {}) });
    registerAuth(app, {
      pool: opts.pool,
      sessions: new Sessions(opts.pool, s.SESSION_DAYS * 24 * 3600 * 1000),
      oidc: s.AUTH_JWKS_URL ? new Oidc(opts.pool, { jwksUrl: s.AUTH_JWKS_URL, issuer: s.AUTH_ISSUER!, audience: s.AUTH_AUDIENCE! }) : null,
      jwtSecret: opts.secret,
      tokenTtlSeconds: s.REALTIME_TOKEN_TTL_SECONDS,
      metricsToken: opts.metricsToken,
      ...(store ? { rateStore: store } : {}),
      ...(this.attempts ? { attempts: this.attempts } : {}),
    });
  }

  /** The routes, once migrated: the app schema's streamed tables are read from the database. */
  async mount(app: FastifyInstance): Promise<void> {
    const { opts } = this;
    const s = opts.settings;
    app.setErrorHandler(errorHandler(opts.log));
    const orm = drizzle({ client: opts.pool, casing: 'snake_case' });
    registerRoutes(app, { db: orm, resources: await loadResources(opts.pool), cursorSecret: opts.secret });
    registerMemberRoutes(app, { db: orm });
    registerOutboxRoutes(app, { pool: opts.pool, gatewayUrls: s.GATEWAY_URLS, lagWarnBytes: s.SLOT_LAG_WARN_BYTES, backlogWarnSeconds: s.BACKLOG_WARN_SECONDS, pageBytes: s.OUTBOX_PAGE_BYTES, log: opts.log.child({ component: 'audit' }, { level: 'info' }) });
    serveWebApp(app, path.resolve(opts.webDist));
  }

  async start(): Promise<void> {
    const { opts } = this;
    const s = opts.settings;
    const jobs: { stop(): Promise<void> }[] = [];
    if (opts.demoPool) {
      const simulator = new Simulator({ db: drizzle({ client: opts.demoPool, casing: 'snake_case' }), log: opts.log.child({ component: 'simulator' }), intervalMs: s.SIMULATOR_INTERVAL_MS });
      simulator.start();
      jobs.push(simulator);
    }
    const retention: Periodic | null = s.RETENTION === null ? null : startRetention(opts.pool, { keepMs: s.RETENTION, everyMs: s.RETENTION_INTERVAL_MS, log: opts.log.child({ component: 'retention' }) });
    if (retention) jobs.push(retention);
    // Hourly is plenty for keys kept a day or more.
    jobs.push(startIdempotencyPruning(opts.pool, { ttlHours: s.IDEMPOTENCY_TTL_HOURS, everyMs: 3_600_000, log: opts.log.child({ component: 'idempotency' }) }));
    this.jobs = jobs;
    this.attempts?.start();
    this.running = true;
  }

  /** The simulator first (it writes), then the jobs. */
  async stop(): Promise<void> {
    this.running = false;
    for (const job of this.jobs) await job.stop();
    this.jobs = [];
    await this.attempts?.stop();
  }

  health(): Health {
    return this.running ? HEALTHY : { ok: false, reason: 'the API has not started' };
  }
}

/**
 * DEMO=1, in an empty database: the demo data and users, seeded by the owner. Returns the
 * banner's lines about the users: their passwords (on a terminal, or the file that holds
 * them), or how to get new ones when they were made at an earlier start.
 */
export async function seedDemo(opts: { ownerUrl: string; demoPool: pg.Pool; log: Logger; usersFile: string }): Promise<() => Promise<string[]>> {
  await seedIfEmpty(opts.ownerUrl, opts.log);
  const users = await seedDemoUsers(opts.demoPool, opts.log);
  return async () => {
    if (!users) {
      return ['', '  Demo users: owner@demo.example, viewer@demo.example, operator@demo.example (passwords were given at first start;', '  `npm run users -- reset-password <email>` prints a new one; `npm run users -- list` shows every user)'];
    }
    const shown = await showDemoUsers(users, { tty: process.stdout.isTTY === true, file: opts.usersFile });
    if (shown.file) opts.log.info({ file: shown.file }, 'demo users created; their passwords are in this file (mode 0600)');
    return shown.lines;
  };
}
