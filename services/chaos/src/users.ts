// Who the subscribers are: users signed in over HTTP as the web app signs in (a session
// cookie each, realtime tokens fetched with it). The service token a backend mints with
// the shared secret, which the HTTP API never issues, is @realtime/auth's signToken.
import { setTimeout as sleep } from 'node:timers/promises';

export const SESSION_COOKIE = 'rt_session';

/**
 * When to renew a token, in ms from now: a third of its life before it ends (20 s at
 * least, room for retries while a gateway restarts), and never sooner than a second.
 */
export function refreshDelay(issuedAtMs: number, expiresAtMs: number, nowMs: number): number {
  const margin = Math.max(20_000, (expiresAtMs - issuedAtMs) / 3);
  return Math.max(1000, Math.round(expiresAtMs - margin - nowMs));
}

/** The `name=value` of the session cookie among Set-Cookie headers, or null. */
export function sessionCookie(setCookie: readonly string[]): string | null {
  for (const header of setCookie) {
    const m = new RegExp(`^\\s*${SESSION_COOKIE}=([^;]*)`).exec(header);
    if (m && m[1]) return `${SESSION_COOKIE}=${m[1]}`;
  }
  return null;
}

/** POST /api/auth/sign-in; the session cookie it sets. */
export async function signIn(base: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status === 429) {
    // Only failed sign-ins count against the limit (ten a minute per account and per
    // address); a 429 here means the run's own sign-ins failed: wait, and the caller tries again.
    await sleep(Math.max(1, Number(res.headers.get('retry-after')) || 5) * 1000);
  }
  if (!res.ok) throw new Error(`sign-in as ${email}: HTTP ${res.status} ${await res.text()}`);
  const cookie = sessionCookie(res.headers.getSetCookie());
  if (!cookie) throw new Error(`sign-in as ${email} set no ${SESSION_COOKIE} cookie; the API's sign-in must set it`);
  return cookie;
}

export interface RealtimeToken {
  token: string;
  issuedAt: number;
  /** ms since the epoch. */
  expiresAt: number;
}

/** GET /api/realtime/token with the session cookie. */
export async function fetchToken(base: string, cookie: string): Promise<RealtimeToken> {
  const issuedAt = Date.now();
  const res = await fetch(`${base}/api/realtime/token`, { headers: { cookie }, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET /api/realtime/token: HTTP ${res.status}`);
  const body = (await res.json()) as { token: string; expiresAt: string };
  return { token: body.token, issuedAt, expiresAt: Date.parse(body.expiresAt) };
}
