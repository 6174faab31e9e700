// What every client may cost the API beyond the server's own bounds (buildHttp: request
// deadline, body size): security headers on every answer, and a budget of writes per
// signed-in user and minute. Registered before the auth hook, so that even a 401 carries
// the headers; the write budget is checked after it, once the user is known.
import type { FastifyInstance } from 'fastify';
import rateLimit, { type CreateRateLimitOptions } from '@fastify/rate-limit';
import { noteLimited } from '@realtime/runtime';
import type { RateStoreClass } from '@realtime/shared-limits';
import { HttpError } from '../errors';
import { registerSecurityHeaders } from './headers';
import { registerJsonOnly } from './json';
import { isWrite } from './keys';
import { routedPath } from '../routed-path';

export interface LimitsOptions {
  /** Writes (POST, PATCH, PUT, DELETE under /api) per signed-in user and minute. */
  writesPerMinute: number;
  /** REDIS_URL: the budget counted across API processes (sharedRateStore); else in this one. */
  store?: RateStoreClass;
}

export function registerLimits(app: FastifyInstance, opts: LimitsOptions): void {
  registerSecurityHeaders(app);
  registerJsonOnly(app);
  // Lists, members, the outbox, who is signed in: one user's data, which no shared cache
  // (a proxy, a CDN) may keep and no browser may store on disk or show from history.
  app.addHook('onSend', async (request, reply) => {
    const path = request.routeOptions?.url ?? request.url.split('?')[0]!;
    if (path === '/status' || path === '/api' || path.startsWith('/api/')) reply.header('cache-control', 'private, no-store');
  });
  void app.register(rateLimit, { global: false, ...(opts.store ? { store: opts.store } : {}) });
  let writes: ReturnType<FastifyInstance['createRateLimit']> | null = null;
  // preParsing: after every onRequest hook (the user is resolved there), before the body is read.
  // Judged by the route that answers: the raw URL of /%61pi/projects names no /api path.
  app.addHook('preParsing', async (request) => {
    if (!request.user || !isWrite(request.method, routedPath(request))) return;
    const userId = request.user.id;
    writes ??= app.createRateLimit({ max: opts.writesPerMinute, timeWindow: 60_000, keyGenerator: (req) => `user:${req.user!.id}`, cache: 100_000 } as CreateRateLimitOptions);
    const r = await writes(request);
    if (r.isAllowed || !r.isExceeded) return;
    noteLimited(request.log, 'writes', { userId });
    const after = Math.max(1, r.ttlInSeconds);
    throw new HttpError(429, 'TOO_MANY_REQUESTS', `too many writes: at most ${opts.writesPerMinute} a minute per user (WRITES_PER_MINUTE); try again in ${after} s`, { 'retry-after': String(after) });
  });
}
