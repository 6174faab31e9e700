// The API as `npm start` composes it (auth hook, CRUD, members, outbox, /status,
// /metrics) on a test database, with users made the way the CLI makes them and requests
// sent through Fastify's inject with a real session cookie.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { createTestDatabase, type TestDatabase } from '@realtime/db/testing';
import { readStatus } from '@realtime/db';
import { buildHttp, createLogger, HEALTHY, HTTP_LIMIT_DEFAULTS, type HttpLimits, type Logger } from '@realtime/runtime';
import { errorHandler } from '../src/errors';
import { loadApiToolEnv } from '../src/env';
import { registerRoutes } from '../src/routes';
import { loadResources } from '../src/resources';
import type { PgTable } from 'drizzle-orm/pg-core';
import { registerMemberRoutes } from '../src/members';
import { registerOutboxRoutes, type RowImagesRead } from '../src/outbox/routes';
import { registerAuth, type AuthOptions } from '../src/auth/routes';
import { Sessions } from '../src/auth/sessions';
import { hashPassword } from '../src/auth/password';
import { Oidc, type OidcConfig } from '../src/auth/oidc';
import { registerLimits, type LimitsOptions } from '../src/limits/http';
import { serveWebApp } from '../src/static';

export const secret = new TextEncoder().encode('api-test-secret-api-test-secret-123');
export const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  cookie: string;
}

export interface Response {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Record<string, unknown>;
}

export interface ApiFixture {
  db: TestDatabase;
  pool: pg.Pool;
  app: FastifyInstance;
  /** A user with a password, signed in (their cookie in `cookie`). */
  user(email: string, opts?: { operator?: boolean; name?: string }): Promise<TestUser>;
  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, as?: TestUser | null, headers?: Record<string, string>): Promise<Response>;
  /** Writes as the database owner (no policy), e.g. to grant a membership or seed a row. */
  sql<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>;
  /** Operator reads of row images, as the outbox routes log them. */
  audits: RowImagesRead[];
  close(): Promise<void>;
}

/** `http` and `limits` default to what `npm start` uses (600 writes a minute per user); `webDist` serves a built app. */
export async function startApi(
  extra: Partial<AuthOptions> & {
    oidcConfig?: OidcConfig;
    http?: Partial<HttpLimits>;
    limits?: Partial<LimitsOptions>;
    webDist?: string;
    /** A migration run (as the owner) before the API reads the catalog, as npm start migrates first. */
    migration?: string;
    /** Drizzle tables served beside the app schema's, as if db/src/schema/app.ts exported them. */
    tables?: PgTable[];
    /** The proxies believed about the client's address (TRUST_PROXY, parsed). */
    trustProxy?: string[];
    /** Where the API logs (silent by default). */
    log?: Logger;
  } = {},
): Promise<ApiFixture> {
  const { oidcConfig, http, limits, webDist, migration, tables, trustProxy, log: logTo, ...options } = extra;
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  if (migration) await pool.query(migration);
  const log = logTo ?? createLogger('silent');
  const app = buildHttp({
    log,
    health: () => HEALTHY,
    status: async () => ({ process: null, gateway: {}, database: await readStatus(pool) }),
    trustProxy: trustProxy ?? false,
    limits: { ...HTTP_LIMIT_DEFAULTS, ...http },
    prepare: (a) => {
      registerLimits(a, { writesPerMinute: 600, ...limits });
      registerAuth(a, {
        pool,
        sessions: new Sessions(pool, 3600_000),
        oidc: oidcConfig ? new Oidc(pool, oidcConfig) : null,
        jwtSecret: secret,
        tokenTtlSeconds: 900,
        metricsToken: METRICS_TOKEN,
        ...options,
      });
    },
  });
  app.setErrorHandler(errorHandler(log));
  const orm = drizzle({ client: pool, casing: 'snake_case' });
  const audits: RowImagesRead[] = [];
  registerRoutes(app, { db: orm, resources: await loadResources(pool, tables), cursorSecret: secret });
  registerMemberRoutes(app, { db: orm });
  registerOutboxRoutes(app, { pool, gatewayUrls: [], lagWarnBytes: 1024 ** 3, backlogWarnSeconds: 60, pageBytes: loadApiToolEnv({}).OUTBOX_PAGE_BYTES, log: { info: (obj: object) => void audits.push(obj as RowImagesRead) } });
  if (webDist) serveWebApp(app, webDist);
  await app.ready();

  const call: ApiFixture['call'] = async (method, url, body, as, headers = {}) => {
    // The web app's way: every POST, PUT and PATCH says it is JSON, with or without a body.
    const type = method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' };
    const res = await app.inject({ method, url, payload: body as never, headers: { ...type, ...(as ? { cookie: as.cookie } : {}), ...headers } });
    const json = String(res.headers['content-type'] ?? '').includes('json');
    return { status: res.statusCode, body: res.body ? (json ? JSON.parse(res.body) : res.body) : null, headers: res.headers };
  };
  return {
    db,
    pool,
    app,
    call,
    audits,
    async user(email, opts = {}) {
      const password = `pw-${email}-long-enough`;
      const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (email, name, operator, password_hash) VALUES ($1, $2, $3, $4) RETURNING id`, [
        email,
        opts.name ?? email.split('@')[0],
        opts.operator ?? false,
        await hashPassword(password),
      ]);
      const res = await app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email, password } });
      if (res.statusCode !== 200) throw new Error(`sign-in of ${email} failed: ${res.statusCode} ${res.body}`);
      const set = String(res.headers['set-cookie']);
      return { id: rows[0]!.id, email, password, cookie: set.split(';')[0]! };
    },
    async sql(text, params = []) {
      return (await pool.query(text, params)).rows;
    },
    async close() {
      await app.close();
      await pool.end();
      await db.drop();
    },
  };
}
