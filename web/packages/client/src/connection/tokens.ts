// Realtime tokens: what the handshake and each renewal carry, and when a renewal is due.
// Pure, so the schedule is tested on its own.

/** A realtime token; `expiresAt` in milliseconds since the epoch. */
export interface RealtimeToken {
  token: string;
  expiresAt: number;
}

/** Fetches a token for the handshake and for renewals; null means signed out (the client stops). */
export type TokenSource = () => Promise<RealtimeToken | null>;

/** Shortest wait before a renewal, so that a clock far off the server's cannot make it spin. */
const MIN_REFRESH_MS = 10_000;

/** A token this close to its expiry is not offered at a handshake: a fresh one is asked for. */
export const REUSE_MARGIN_MS = 60_000;

/** When to renew a token: a minute before it expires, or at 80% of what is left if that is earlier. */
export function refreshDelay(expiresAt: number, now: number): number {
  const left = expiresAt - now;
  return Math.max(MIN_REFRESH_MS, Math.round(Math.min(left - 60_000, left * 0.8)));
}
