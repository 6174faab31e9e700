// The pure decisions of a connection: what a handshake with the wrong protocol is told,
// whether a refreshed token names the same identity, where an event's acknowledgement
// is, and when an unrefreshed token ends its socket.
import { PROTOCOL_VERSION } from '@realtime/protocol';
import type { Principal } from '@realtime/auth';

/** Null when the handshake speaks this gateway's protocol; else what the client is told. */
export function protocolRefusal(v: unknown): string | null {
  if (v === PROTOCOL_VERSION) return null;
  return `this gateway speaks realtime protocol ${PROTOCOL_VERSION} (handshake auth: { token, v: ${PROTOCOL_VERSION} }, changes in batches, positions with their fingerprint); this client sent ${v === undefined ? 'no version (protocol 1)' : `v: ${JSON.stringify(v).slice(0, 20)}`}: update the client`;
}

/** A token refresh goes on with the same socket only for the same user, or a service token with the same grant. */
export function sameIdentity(was: Principal, now: Principal): boolean {
  if (was.kind === 'user') return now.kind === 'user' && now.userId === was.userId;
  return now.kind === 'service' && JSON.stringify(now.grant) === JSON.stringify(was.grant);
}

/**
 * The acknowledgement is the last argument, whatever came before it: a client that sends
 * no payload, or two, still gets its answer.
 */
export function splitAck(args: unknown[]): [unknown, unknown] {
  return typeof args.at(-1) === 'function' ? [args.length > 1 ? args[0] : undefined, args.at(-1)] : [args[0], null];
}

/** How long until a token expiring at `expiresAt` (seconds) ends its socket; null when it never expires. */
export function expiryDelay(expiresAt: number | null, now: number): number | null {
  if (!expiresAt) return null;
  // setTimeout fires at once past 2^31 - 1 ms: a token valid for years waits that long instead.
  return Math.max(0, Math.min(expiresAt * 1000 - now, 2 ** 31 - 1));
}
