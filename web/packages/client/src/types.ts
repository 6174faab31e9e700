// The client's public shapes: the socket and timers it is given, the connection state it
// reports, and what a subscription is made of.
import type { ChangeEvent, ChangesEvent, ErrorCode, Filter, ResyncEvent, UnauthorizedReason } from '@realtime/protocol';
import type { BackoffOptions } from './backoff.js';
import type { ClientEnvironment } from './connection/environment.js';
import type { TokenSource } from './connection/tokens.js';

export interface SocketLike {
  connected: boolean;
  /** The handshake's payload, read at each connect(). */
  auth?: unknown;
  connect(): unknown;
  disconnect(): unknown;
  on(event: string, fn: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };

export type Status = 'connecting' | 'catching-up' | 'live' | 'offline';

export interface ConnectionState {
  status: Status;
  /** Changes received by subscriptions still replaying. */
  catchingUp: number;
  /** How many changes the last catch-up brought. */
  lastCatchUp: number;
  /** Reconnection attempts since the connection was lost. */
  attempt: number;
  /**
   * While catching up: how many changes of the stream lie between the subscriptions'
   * positions and the head their acks reported (the furthest behind; an upper bound for
   * a filtered subscription). 0 otherwise.
   */
  behind: number;
  /**
   * While offline: when the client last heard from the server (an ack, a batch, a
   * heartbeat), i.e. the moment its data is known current as of, in ms since the epoch;
   * null while connected or if it never heard anything.
   */
  dataAt: number | null;
  /** While offline: since when, in ms since the epoch (null while connected). */
  offlineSince: number | null;
}

/**
 * Where a subscription (re)starts: the list's cursor, the last seq it applied, or both.
 * `fp` is the fingerprint of the change at `since` (its `fp`): leave it out and the client
 * adds the one it saw with that seq; a `since` whose fingerprint neither knows is sent
 * without one, and the gateway answers `resync` (a refetch) rather than replay unchecked.
 */
export type Resume = { cursor: string; since?: number; fp?: string } | { since: number; fp?: string } | Record<string, never>;

export interface SubscriptionSpec {
  channel: string;
  filter?: Filter;
  /** Asked at every (re)subscribe. */
  resume: () => Resume;
}

export interface SubscriptionHandlers {
  /** One call per delivered batch (a feed batch or a replay page): apply it in one cache update. */
  onChanges: (events: ChangeEvent[]) => void;
  /** The server took the subscription; `headSeq` is the stream's head at that moment. */
  onSubscribed?: (headSeq: number) => void;
  onLive?: (seq: number) => void;
  onResync?: (reason: ResyncEvent['reason']) => void;
  /** A refused subscribe. INTERNAL and RATE_LIMITED are asked again by the client; any other code is not. */
  onError?: (message: string, code: ErrorCode) => void;
}

/**
 * What the client reports beside each subscription's handlers: for logs, metrics and
 * test harnesses that must see every delivery.
 */
export interface ClientEvents {
  /** A batch handed to a subscription (after its onChanges). */
  batch: (e: ChangesEvent, spec: SubscriptionSpec) => void;
  /** A token renewed on the open socket; `expiresAt` in ms since the epoch. */
  renewed: (expiresAt: number) => void;
  /**
   * The server closed the socket ('connection') or refused a handshake ('handshake') for
   * its token. `reason`: 'expired' (the client reconnects with a fresh token), or why the
   * token's session ended ('signed-out', 'password-reset', ...; see `isSessionEnd`): the
   * client stops, since only a new sign-in brings a token again. Absent when the server
   * did not say (a malformed or forged token).
   */
  unauthorized: (e: { during: 'connection' | 'handshake'; message: string; reason?: UnauthorizedReason }) => void;
  /** An event for a subscription id this client never held: a server fault. */
  stray: (kind: string, sub: string) => void;
}

export interface ClientOptions {
  timers?: Timers;
  random?: () => number;
  now?: () => number;
  /** Without it the socket connects with whatever `auth` it was given (a service token, or none). */
  tokens?: TokenSource;
  /** Reconnection delays (default: from 500 ms doubling up to 30 s, ±20%). */
  backoff?: BackoffOptions;
  /** false: never renew on the open socket; the server closes it at expiry and the client reconnects with a fresh token. */
  renew?: boolean;
  /** Default: the global window and document, where there are any. */
  environment?: ClientEnvironment;
}
