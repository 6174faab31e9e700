// The process's HTTP face: GET /healthz (public: 200 once the process and its parts are
// ready, 503 otherwise, the reason in the log), and for operators GET /status (the
// process's and the database's view) and /metrics.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './log';
import type { Health } from './service';
import { HTTP_LIMIT_DEFAULTS, type HttpLimits } from './env';
import { metricsRegistry, metricsText, type MetricsJson } from './metrics';
import { noteLimited, type Limit } from './limited';

export { HTTP_LIMIT_DEFAULTS, type HttpLimits };

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

/**
 * The accept queue asked of the kernel (which caps it at net.core.somaxconn, 4096 on
 * current Linux). A reconnect storm opens thousands of sockets at once; past Node's
 * default of 511, the kernel drops the SYNs and each client waits out TCP's
 * retransmission (1, 3, 7, 15, 31 s) before it is even accepted.
 */
export const LISTEN_BACKLOG = 4096;

export interface HttpOptions {
  log: Logger;
  /** The process's readiness: migrated, and every part it runs healthy (processHealth). */
  health: () => Health;
  /** What /status answers (for operators: the parts' state and the database's). */
  status: () => Promise<Record<string, unknown>>;
  /** Registries of other threads (a replicator's worker), merged into /metrics. */
  foreignMetrics?: () => Promise<MetricsJson[]>;
  trustProxy?: boolean | string[] | ((address: string, hop: number) => boolean);
  prepare?: (app: FastifyInstance) => void;
  limits?: HttpLimits;
}

export function buildHttp(opts: HttpOptions): FastifyInstance {
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
    const h = opts.health();
    // Public, so it says only ok or not: the reason is for operators (/status, the log).
    if (!h.ok) {
      app.log.warn({ reason: h.reason }, 'health check failed');
      return reply.code(503).send({ status: 'unavailable' });
    }
    return reply.code(200).send({ status: 'ok' });
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    const foreign = (await opts.foreignMetrics?.()) ?? [];
    return reply.header('content-type', metricsRegistry.contentType).send(await metricsText(foreign));
  });
  app.get('/status', { logLevel: 'warn' }, async (_req, reply) => reply.send(await opts.status()));
  return app;
}
