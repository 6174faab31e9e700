// The process's HTTP face: GET /healthz (public: 200 once migrated and the replicator
// runs, 503 otherwise, the reason in the log), and for operators GET /status (the
// process's and the database's view) and /metrics.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Logger } from '@realtime/db';
import type { ReplicatorLike } from './replicator';
import { readStatus } from './state';
import { metricsRegistry, metricsText, registerDatabaseGauges } from './metrics';
import { noteLimited, type Limit } from './limited';

export interface Health {
  ok: boolean;
  reason: string | null;
}

export function health(migrated: boolean, replicator: ReplicatorLike | null, standalone = false, gatewayStarted = true): Health {
  if (!migrated) return { ok: false, reason: 'the database is not migrated yet' };
  if (!gatewayStarted) return { ok: false, reason: 'the gateway has not started' };
  // A gateway beside a separate replicator process serves as soon as it is migrated.
  if (standalone) return { ok: true, reason: null };
  if (!replicator) return { ok: false, reason: 'the replicator has not started' };
  const s = replicator.status();
  if (s.role === 'standby') return { ok: true, reason: null };
  if (s.role === 'leader' && (s.mode === 'wal' || s.mode === 'notify')) return { ok: true, reason: null };
  return { ok: false, reason: `replicator is ${s.role}${s.reason ? `: ${s.reason}` : ''}` };
}

export interface HttpState {
  migrated: boolean;
  replicator: ReplicatorLike | null;
  /** Gateway counters, when a gateway shares the server. */
  gateway?: Record<string, number> | null;
  /** No replicator in this process (a gateway beside a separate one). */
  standalone?: boolean;
}

/** A bearer secret compared in constant time, so that timing tells nothing of it. */
export function sameSecret(given: string, wanted: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(wanted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A process without users (the standalone replicator): /status and /metrics answer only
 * `Authorization: Bearer <METRICS_TOKEN>`, and nothing when no token is configured.
 */
export function requireMetricsToken(app: FastifyInstance, token: string | undefined): void {
  app.addHook('onRequest', async (request, reply) => {
    // The route that answers, not the raw URL: /%6Detrics is routed to /metrics.
    const path = request.routeOptions?.url;
    if (path !== '/status' && path !== '/metrics') return;
    if (!token) return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'set METRICS_TOKEN and send Authorization: Bearer <it> to read /status and /metrics' } });
    if (!sameSecret(/^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '', token)) {
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'Authorization: Bearer <METRICS_TOKEN> required' } });
    }
  });
}

/** What one request may cost: the time to send it (headers and body) and the body's size. */
export interface HttpLimits {
  requestTimeoutMs: number;
  bodyLimitBytes: number;
}

export const HTTP_LIMIT_DEFAULTS: HttpLimits = { requestTimeoutMs: 30_000, bodyLimitBytes: 256 * 1024 };

/**
 * Node's server options for a request deadline. Node looks for late requests only every
 * `connectionsCheckingInterval` (30 s by default), so a slow body would live up to twice
 * the deadline: look every tenth of it, and at least once a second. Headers count against the
 * same deadline (Node refuses a headers timeout longer than the request's).
 */
export function serverTimeouts(requestTimeoutMs: number): { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(requestTimeoutMs / 10))),
  };
}

/**
 * How a connection-level failure is answered (Node reports these before Fastify has a
 * request): in the API's error shape, and with the bound it hit, if any, for the metric.
 */
export function clientErrorAnswer(code: string | undefined, limits: HttpLimits): { status: number; limit: Limit | null; body: { error: { code: string; message: string } } } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      limit: 'timeout',
      body: { error: { code: 'REQUEST_TIMEOUT', message: `the request (headers and body) did not arrive within ${limits.requestTimeoutMs} ms (HTTP_REQUEST_TIMEOUT_MS)` } },
    };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, limit: 'header_size', body: { error: { code: 'HEADERS_TOO_LARGE', message: 'the request headers are too large: send fewer or smaller cookies and headers' } } };
  }
  return { status: 400, limit: null, body: { error: { code: 'BAD_REQUEST', message: 'malformed HTTP request' } } };
}

export function buildHttp(opts: {
  log: Logger;
  pool: pg.Pool;
  state: () => HttpState;
  trustProxy?: boolean | string[] | ((address: string, hop: number) => boolean);
  prepare?: (app: FastifyInstance) => void;
  limits?: HttpLimits;
}): FastifyInstance {
  // Per-request lines would drown the log (pages poll while offline): warnings and errors
  // only, unless LOG_LEVEL asks for debug or trace.
  const level = opts.log.level === 'debug' || opts.log.level === 'trace' ? opts.log.level : 'warn';
  const limits = opts.limits ?? HTTP_LIMIT_DEFAULTS;
  const timeouts = serverTimeouts(limits.requestTimeoutMs);
  const app = Fastify({ loggerInstance: opts.log.child({ component: 'http' }, { level }) as FastifyBaseLogger, trustProxy: opts.trustProxy ?? false,
    // A request id a client can quote and an operator can find in the log; never taken from the client.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // Every client has a bounded cost: a slow sender is cut off, a large body refused
    // (413) before it is read. Handlers may take longer: the deadline covers receiving only.
    requestTimeout: timeouts.requestTimeout,
    http: timeouts,
    bodyLimit: limits.bodyLimitBytes,
    clientErrorHandler(err: Error & { code?: string }, socket: Socket) {
      // A connection reset has nothing left to answer.
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const answer = clientErrorAnswer(err.code, limits);
      if (answer.limit) noteLimited(app.log, answer.limit, { ip: socket.remoteAddress });
      if (socket.writable) {
        const body = JSON.stringify(answer.body);
        socket.write(`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      socket.destroy(err);
    },
  });
  // Before any route: an access hook installed here guards /status and /metrics too.
  opts.prepare?.(app);
  // Probes hit these every few seconds: log them only when something is wrong.
  app.get('/healthz', { logLevel: 'warn' }, async (_req, reply) => {
    const { migrated, replicator, standalone, gateway } = opts.state();
    const h = health(migrated, replicator, standalone, gateway !== null);
    // Public, so it says only ok or not: the reason is for operators (/status, the log).
    if (!h.ok) {
      app.log.warn({ reason: h.reason }, 'health check failed');
      return reply.code(503).send({ status: 'unavailable' });
    }
    return reply.code(200).send({ status: 'ok' });
  });
  registerDatabaseGauges(opts.pool);
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    // A replicator in a worker thread keeps its metrics in that thread's registry.
    const foreign = await opts.state().replicator?.foreignMetrics?.();
    return reply.header('content-type', metricsRegistry.contentType).send(await metricsText(foreign ? [foreign] : []));
  });
  app.get('/status', { logLevel: 'warn' }, async (_req, reply) => {
    const { replicator, gateway } = opts.state();
    const database = await readStatus(opts.pool).catch((err: unknown) => ({ error: (err as Error).message }));
    return reply.send({ process: replicator?.status() ?? null, gateway: gateway ?? null, database });
  });
  return app;
}
