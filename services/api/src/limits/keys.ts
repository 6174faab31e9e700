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
 * What a sign-in does next. The address's budget is a hard limit: one address guessing
 * is refused once its failures (counting the attempts still in flight, so that a
 * parallel burst gets no more guesses than a sequential one) reach `max`. The account's is
 * not: refusing the right password would let anyone lock anyone out, the operator
 * included, so an account past its budget is slowed instead (accountTurn), and a browser
 * that signed in to it before (a trusted device) is not even slowed.
 */
export type SignInVerdict = { action: 'go' } | { action: 'refuse'; limit: 'sign_in_ip'; retryAfterSeconds: number } | { action: 'slow'; limit: 'sign_in_email' };

export function signInVerdict(budgets: { email: Budget; ip: Budget }, max: number, trustedDevice = false): SignInVerdict {
  const ip = budgets.ip;
  if (ip.used + ip.inFlight >= max) return { action: 'refuse', limit: 'sign_in_ip', retryAfterSeconds: Math.max(1, Math.ceil(ip.ttlMs / 1000)) };
  const email = budgets.email;
  if (email.used + email.inFlight >= max && !trustedDevice) return { action: 'slow', limit: 'sign_in_email' };
  return { action: 'go' };
}

export interface SlowDown {
  /** An account past its budget takes one attempt this often (from untrusted devices). */
  everyMs: number;
  /** An attempt whose turn is further off than this is refused (429), not queued. */
  maxWaitMs: number;
}

/**
 * The turn of one attempt on a slowed account: wait `waitMs` and go, the account's next
 * turn then `nextFreeAt`; or, when the queue is longer than `maxWaitMs`, refused.
 */
export function accountTurn(nextFreeAt: number | undefined, now: number, slow: SlowDown): { waitMs: number; nextFreeAt: number } | { retryAfterSeconds: number } {
  const at = Math.max(now, nextFreeAt ?? now);
  if (at - now > slow.maxWaitMs) return { retryAfterSeconds: Math.max(1, Math.ceil((at - now) / 1000)) };
  return { waitMs: at - now, nextFreeAt: at + slow.everyMs };
}
