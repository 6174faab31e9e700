// Who a limit counts: pure key derivation for the sign-in budgets and the write budget.
import { normalizeIP } from '@fastify/rate-limit';

/**
 * The two sign-in budgets a request spends from. Separate keys, enforced separately: one
 * address spraying many emails runs out of its address's budget; one account attacked
 * from many addresses runs out of the account's. An IPv6 client is counted by its /64,
 * since one host usually holds the whole prefix.
 */
export function signInKeys(ip: string, email: string): { email: string; ip: string } {
  return { email: `email:${email.trim().toLowerCase()}`, ip: `ip:${normalizeIP(ip, 64)}` };
}

/**
 * A write that spends the user's write budget: a change under /api, sign-in and sign-out
 * aside (they have their own). `path` is the routed path (routedPath), never the raw URL.
 */
export function isWrite(method: string, path: string): boolean {
  if (method !== 'POST' && method !== 'PATCH' && method !== 'PUT' && method !== 'DELETE') return false;
  if (path === '/api/auth/sign-in' || path === '/api/auth/sign-out') return false;
  return path === '/api' || path.startsWith('/api/');
}

export interface Budget {
  /** Failures already counted in the window. */
  used: number;
  /** Attempts of this key being checked right now, each a failure until it is known not to be. */
  inFlight: number;
  /** Until the window ends. */
  ttlMs: number;
}

/**
 * Whether a sign-in may proceed: refused when a budget's failures, counting the attempts
 * still in flight as failures, already reach `max`. Counting in-flight attempts keeps a
 * burst of parallel guesses from all passing before the first is counted. The email
 * budget is named first: it is the one an account's owner will ask about.
 */
export function signInVerdict(budgets: { email: Budget; ip: Budget }, max: number): { limit: 'sign_in_email' | 'sign_in_ip'; retryAfterSeconds: number } | null {
  for (const [kind, b] of [['email', budgets.email], ['ip', budgets.ip]] as const) {
    if (b.used + b.inFlight >= max) return { limit: kind === 'email' ? 'sign_in_email' : 'sign_in_ip', retryAfterSeconds: Math.max(1, Math.ceil(b.ttlMs / 1000)) };
  }
  return null;
}
