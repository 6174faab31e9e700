// Who is asking: every /api request (and /status, /metrics) is resolved to a user from
// the session cookie or an OpenID Connect bearer token before any route runs, and
// refused here when the route needs more. Also the identity endpoints: sign-in,
// sign-out (of this session, or of every session of the user), me, and the short-lived
// realtime token the gateway checks.
import { hkdfSync } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import type pg from 'pg';
import { z } from 'zod';
import type { Me } from '../types';
import { signUserToken } from '@realtime/auth';
import { sameSecret } from '@realtime/runtime';
import { HttpError, parseInput } from '../errors';
import { verifyPassword } from './password';
import { SESSION_COOKIE, type AuthUser, type Sessions } from './sessions';
import type { Oidc } from './oidc';
import { SignInLimit, type SharedAttempts } from '../limits/sign-in';
import type { RateStoreClass } from '@realtime/shared-limits';
import type { SlowDown } from '../limits/keys';
import { routedPath } from '../routed-path';

export { routedPath };

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser | null;
    /** The public id of the cookie's session (null for a bearer token): realtime tokens name it. */
    sessionId: string | null;
  }
}

export interface AuthOptions {
  pool: pg.Pool;
  sessions: Sessions;
  oidc: Oidc | null;
  jwtSecret: Uint8Array;
  tokenTtlSeconds: number;
  /** `Authorization: Bearer <this>` reads /metrics without a session (Prometheus). */
  metricsToken?: string;
  /** Failed sign-ins a minute per email and, separately, per address (10). */
  signInFailuresPerMinute?: number;
  /** How an account past its budget is slowed (SLOW_DOWN_DEFAULTS). */
  signInSlowDown?: SlowDown;
  /** REDIS_URL: the sign-in failures counted across API processes (else in this one). */
  rateStore?: RateStoreClass;
  /** REDIS_URL: the sign-ins in flight, counted across API processes. */
  attempts?: SharedAttempts;
}

/**
 * A browser that signed in to an account before: a cookie naming the account, signed
 * with a key of the server's, so that only a successful sign-in makes one. Its holder is
 * not slowed when someone else's guesses slow the account (a device cookie).
 */
export const DEVICE_COOKIE = 'realtime_device';
const DEVICE_DAYS = 180;

/** The device cookie's signing key: derived from the server's secret, for this use only. */
export function deviceCookieKey(secret: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), 'realtime-outbox device cookie', 32));
}

/** What a path needs: nothing, a signed-in user, or an operator. */
export function accessFor(method: string, path: string): 'public' | 'user' | 'operator' | 'metrics' {
  if (path === '/metrics') return 'metrics';
  if (path === '/status') return 'operator';
  if (path === '/api/outbox' || path.startsWith('/api/outbox/')) return 'operator';
  if (method === 'POST' && (path === '/api/auth/sign-in' || path === '/api/auth/sign-out')) return 'public';
  if (path === '/api' || path.startsWith('/api/')) return 'user';
  return 'public';
}

const sessionToken = (request: FastifyRequest): string | undefined => {
  const header = request.headers.cookie;
  return header ? cookie.parse(header)[SESSION_COOKIE] : undefined;
};

const signInBody = z.object({ email: z.string().trim().min(1).max(320), password: z.string().min(1).max(1024) }).strict();
const WRONG = 'wrong email or password';
const signOutEverywhereBody = z.object({}).strict();

export async function memberships(pool: pg.Pool, userId: string): Promise<Me['memberships']> {
  const { rows } = await pool.query<{ projectId: string; role: Me['memberships'][number]['role'] }>(
    `SELECT project_id AS "projectId", role FROM project_members WHERE user_id = $1 ORDER BY created_at`,
    [userId],
  );
  return rows;
}

export function registerAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.decorateRequest('user', null);
  app.decorateRequest('sessionId', null);

  const resolve = async (request: FastifyRequest): Promise<{ user: AuthUser | null; sessionId?: string; metrics: boolean }> => {
    const header = request.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m) throw new HttpError(401, 'UNAUTHORIZED', 'Authorization: only "Bearer <token>" is understood');
      const token = m[1]!;
      if (opts.metricsToken && routedPath(request) === '/metrics' && sameSecret(token, opts.metricsToken)) return { user: null, metrics: true };
      if (!opts.oidc) throw new HttpError(401, 'UNAUTHORIZED', 'bearer tokens are accepted only with AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE set; sign in instead');
      return { user: await opts.oidc.user(token), metrics: false };
    }
    const session = await opts.sessions.user(sessionToken(request));
    return { user: session?.user ?? null, sessionId: session?.sid, metrics: false };
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // Judged by the route that will answer, not by the raw URL: Fastify decodes the path
    // before it routes, so /%6Detrics reaches /metrics while its raw text names nothing.
    const access = accessFor(request.method, routedPath(request));
    if (access === 'public') return;
    const who = await resolve(request);
    request.user = who.user;
    request.sessionId = who.sessionId ?? null;
    if (access === 'metrics' && who.metrics) return;
    if (!who.user) {
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'sign in first (POST /api/auth/sign-in)' } });
    }
    if ((access === 'operator' || access === 'metrics') && !who.user.operator) {
      return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'operators only: an operator grants it with `npm run users -- add <email> --operator`' } });
    }
  });

  // The hook above is the root's, so it guards every route; the identity routes live in a
  // scope of their own, where the cookie and rate-limit plugins load before them.
  void app.register(async (scope) => {
    await scope.register(cookie, { secret: deviceCookieKey(opts.jwtSecret) });
    // Its limiters are made per use (limits/sign-in.ts), not per route.
    await scope.register(rateLimit, { global: false, ...(opts.rateStore ? { store: opts.rateStore } : {}) });
    identityRoutes(scope, opts);
  });
}

function identityRoutes(app: FastifyInstance, opts: AuthOptions): void {
  // Who is signed in and their tokens are nobody's to cache: not a browser's back button, not a proxy.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'private, no-store');
  });
  // Guessing a password: ten failures a minute per address, then 429 until the window
  // ends; ten per account, then the account is slowed (limits/sign-in.ts), so guesses
  // spread over many addresses stay few without letting them lock its owner out.
  const limit = new SignInLimit(app, opts.signInFailuresPerMinute ?? 10, 60_000, opts.signInSlowDown, undefined, opts.attempts);
  app.post('/api/auth/sign-in', async (request, reply) => {
    const body = parseInput(signInBody, request.body ?? {}, 'body');
    const email = body.email.trim().toLowerCase();
    const device = request.cookies[DEVICE_COOKIE];
    const unsigned = device ? request.unsignCookie(device) : null;
    const attempt = await limit.begin(request, body.email, unsigned?.valid === true && unsigned.value === email);
    let found: (AuthUser & { password_hash: string | null }) | undefined;
    try {
      const { rows } = await opts.pool.query<AuthUser & { password_hash: string | null }>(
        `SELECT id, email, name, operator, password_hash FROM users WHERE email = $1`,
        [body.email.toLowerCase()],
      );
      found = rows[0];
      // One answer, and one cost, for an unknown email and a wrong password.
      const ok = await verifyPassword(found?.password_hash ?? null, body.password);
      if (!found || !ok) {
        await attempt.failed();
        throw new HttpError(401, 'UNAUTHORIZED', WRONG);
      }
    } finally {
      attempt.end();
    }
    const token = await opts.sessions.create(found.id);
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: request.protocol === 'https',
      path: '/',
      maxAge: Math.floor(opts.sessions.ttlMs / 1000),
    });
    reply.setCookie(DEVICE_COOKIE, email, {
      signed: true,
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      path: '/api/auth',
      maxAge: DEVICE_DAYS * 24 * 3600,
    });
    const user: AuthUser = { id: found.id, email: found.email, name: found.name, operator: found.operator };
    return { user, memberships: await memberships(opts.pool, found.id) } satisfies Me;
  });

  app.post('/api/auth/sign-out', async (request, reply) => {
    await opts.sessions.end(sessionToken(request));
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });

  // Every session of the user ends (a lost laptop, a shared computer): each device's
  // sockets are closed at that change, and each device must sign in again. JSON only, like
  // every write: a page of another site cannot send it without CORS, which is not enabled.
  app.post('/api/auth/sign-out-everywhere', async (request, reply) => {
    if (!/^application\/json\b/i.test(String(request.headers['content-type'] ?? ''))) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json with the body {}');
    }
    parseInput(signOutEverywhereBody, request.body ?? {}, 'body');
    const ended = await opts.sessions.endAll(request.user!);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ended };
  });

  app.get('/api/auth/me', async (request) => {
    const user = request.user!;
    return { user, memberships: await memberships(opts.pool, user.id) } satisfies Me;
  });

  // Short-lived, naming the user and the session: the gateway decides, change by change,
  // what that user's memberships let through, and closes the socket when the session ends.
  app.get('/api/realtime/token', async (request) => {
    const token = await signUserToken(opts.jwtSecret, request.user!.id, opts.tokenTtlSeconds, request.sessionId);
    return { token, expiresAt: new Date(Date.now() + opts.tokenTtlSeconds * 1000).toISOString() };
  });
}
