// The connection as a state machine: one named phase at a time, and every change made by
// reduce(state, event), which returns the next state and the effects for the client to
// run (connect, fetch a token, arm a timer...). Pure: time comes in with the events,
// randomness stays in the shell (a timer armed "after backoff step n").
import { isSessionEnd, type UnauthorizedReason } from '@realtime/protocol';
import { REUSE_MARGIN_MS, refreshDelay, type RealtimeToken } from './tokens.js';

/**
 * - `idle`: made, not started.
 * - `authenticating`: waiting for a token before a handshake.
 * - `connecting`: the handshake is under way.
 * - `live`: the socket is open (its subscriptions may still be replaying).
 * - `backing-off`: down after a failure; the reconnect timer runs (a wake-up cuts it short).
 * - `dropped`: taken down on purpose (dropFor) until the drop timer ends.
 * - `stopped`: stop(), a signed-out token source, or the end of the token's session.
 */
export type Phase = 'idle' | 'authenticating' | 'connecting' | 'live' | 'backing-off' | 'dropped' | 'stopped';

export interface Connection {
  phase: Phase;
  /** Whether a token source is configured, and whether tokens are renewed on the open socket. */
  readonly tokens: boolean;
  readonly renew: boolean;
  /** Failed attempts since the connection was last up. */
  attempt: number;
  /** Bumped by stop(), a drop and every disconnect: an answer from an older generation is for nobody. */
  generation: number;
  /** The token of the open socket, or the one the next handshake may reuse. */
  token: RealtimeToken | null;
  /** Consecutive failed renewals, for their backoff. */
  renewFailures: number;
  /** When the server was last heard from (an ack, a batch, a heartbeat). */
  heardAt: number | null;
  /** Since when the connection is down (null while up, and before the first failure). */
  offlineSince: number | null;
  /** While down: the last word from the server, i.e. how old the data is. */
  dataAt: number | null;
  /** How many changes the last catch-up brought (since the last connect). */
  lastCatchUp: number;
}

export type Timer = 'reconnect' | 'drop' | 'refresh';

export type ConnectionEvent =
  | { type: 'start'; now: number }
  | { type: 'stop' }
  /** The network is back, or the tab shown again. `connected`: the socket's own word. */
  | { type: 'wake'; now: number; connected: boolean }
  | { type: 'drop'; ms: number; now: number }
  | { type: 'timer'; timer: Timer; now: number; connected: boolean }
  | { type: 'token'; purpose: 'connect' | 'renew'; generation: number; token: RealtimeToken | null; now: number; connected: boolean }
  | { type: 'token-failed'; purpose: 'connect' | 'renew'; generation: number; now: number }
  | { type: 'renew-answer'; generation: number; token: string; now: number; answer: { ok: true; expiresAt: number } | { ok: false; message: string } }
  | { type: 'connected'; now: number }
  | { type: 'disconnected'; now: number }
  /** The handshake failed; `unauthorized` when the server refused it for its token. */
  | { type: 'connect-error'; now: number; unauthorized?: { message: string; reason?: UnauthorizedReason } }
  /** The server is closing the socket for its token. */
  | { type: 'unauthorized'; now: number; message: string; reason?: UnauthorizedReason; connected: boolean }
  | { type: 'heard'; now: number }
  /** A subscription finished replaying: what its catch-up brought. */
  | { type: 'caught-up'; changes: number };

export type ConnectionEffect =
  /** Connect, the handshake carrying this token (null: the socket's own `auth`). */
  | { type: 'connect'; token: string | null }
  | { type: 'disconnect' }
  | { type: 'fetch-token'; purpose: 'connect' | 'renew'; generation: number }
  /** Send the `auth` event with a fresh token on the open socket. */
  | { type: 'renew'; token: string; generation: number }
  /** Arm a timer (replacing one of the same name): after `ms`, or after step `backoff` of the backoff. */
  | { type: 'arm'; timer: Timer; ms: number }
  | { type: 'arm'; timer: Timer; backoff: number }
  | { type: 'cancel'; timer: Timer }
  | { type: 'listen' }
  | { type: 'unlisten' }
  /** Every subscription is sent again (the connection is up). */
  | { type: 'resubscribe' }
  /** Every subscription lost its server id (the connection is down). */
  | { type: 'forget' }
  | { type: 'renewed'; expiresAt: number }
  | { type: 'renew-refused'; message: string }
  | { type: 'unauthorized'; during: 'connection' | 'handshake'; message: string; reason?: UnauthorizedReason };

export interface Step {
  state: Connection;
  effects: ConnectionEffect[];
}

export function initialConnection(opts: { tokens: boolean; renew: boolean }): Connection {
  return { phase: 'idle', tokens: opts.tokens, renew: opts.renew, attempt: 0, generation: 0, token: null, renewFailures: 0, heardAt: null, offlineSince: null, dataAt: null, lastCatchUp: 0 };
}

const started = (s: Connection) => s.phase !== 'idle' && s.phase !== 'stopped';
const same = (s: Connection): Step => ({ state: s, effects: [] });

/** Down since the first moment it was, with its data as old as the last word from the server. */
function offline(s: Connection, now: number): Connection {
  return { ...s, offlineSince: s.offlineSince ?? now, dataAt: s.dataAt ?? s.heardAt };
}

/** An attempt: with no token source, the socket's own auth; a token that outlives its reuse margin; or a fresh one. */
function open(s: Connection, now: number, effects: ConnectionEffect[] = []): Step {
  if (!s.tokens) return { state: { ...s, phase: 'connecting' }, effects: [...effects, { type: 'connect', token: null }] };
  if (s.token && now < s.token.expiresAt - REUSE_MARGIN_MS) return { state: { ...s, phase: 'connecting' }, effects: [...effects, { type: 'connect', token: s.token.token }] };
  return { state: { ...s, phase: 'authenticating' }, effects: [...effects, { type: 'fetch-token', purpose: 'connect', generation: s.generation }] };
}

function stop(s: Connection): Step {
  return {
    state: { ...s, phase: 'stopped', generation: s.generation + 1 },
    effects: [{ type: 'cancel', timer: 'reconnect' }, { type: 'cancel', timer: 'drop' }, { type: 'cancel', timer: 'refresh' }, { type: 'unlisten' }, { type: 'disconnect' }],
  };
}

/** Down: a stopped or deliberately dropped connection stays down; any other waits its backoff step and tries again. */
function down(s: Connection, now: number): Step {
  const base: Connection = { ...offline(s, now), generation: s.generation + 1 };
  const effects: ConnectionEffect[] = [{ type: 'cancel', timer: 'refresh' }, { type: 'forget' }];
  if (s.phase === 'dropped' || !started(s)) return { state: base, effects };
  return {
    state: { ...base, phase: 'backing-off', attempt: s.attempt + 1 },
    effects: [...effects, { type: 'arm', timer: 'reconnect', backoff: s.attempt }],
  };
}

function scheduleRefresh(s: Connection, now: number): ConnectionEffect[] {
  if (!s.tokens || !s.token || !s.renew) return [{ type: 'cancel', timer: 'refresh' }];
  return [{ type: 'arm', timer: 'refresh', ms: refreshDelay(s.token.expiresAt, now) }];
}

/** A renewal that failed: tried again with backoff while the same connection is up. */
function retryRenewal(s: Connection, generation: number): Step {
  if (generation !== s.generation || s.phase !== 'live') return same(s);
  return { state: { ...s, renewFailures: s.renewFailures + 1 }, effects: [{ type: 'arm', timer: 'refresh', backoff: s.renewFailures }] };
}

export function reduceConnection(s: Connection, e: ConnectionEvent): Step {
  switch (e.type) {
    case 'start':
      if (started(s)) return same(s);
      return open(s, e.now, [{ type: 'listen' }]);
    case 'stop':
      return stop(s);
    case 'wake':
      // Only while waiting out a backoff: not connected, not attempting, not dropped on purpose.
      if (s.phase !== 'backing-off' || e.connected) return same(s);
      return open(s, e.now, [{ type: 'cancel', timer: 'reconnect' }]);
    case 'drop':
      if (!started(s)) return same(s);
      return {
        state: { ...offline(s, e.now), phase: 'dropped', generation: s.generation + 1 },
        effects: [{ type: 'cancel', timer: 'reconnect' }, { type: 'arm', timer: 'drop', ms: e.ms }, { type: 'disconnect' }],
      };
    case 'timer':
      if (e.timer === 'reconnect') return s.phase === 'backing-off' && !e.connected ? open(s, e.now) : same(s);
      if (e.timer === 'drop') return s.phase === 'dropped' ? open(s, e.now) : same(s);
      return s.phase === 'live' ? { state: s, effects: [{ type: 'fetch-token', purpose: 'renew', generation: s.generation }] } : same(s);
    case 'token':
      if (e.purpose === 'connect') {
        if (e.generation !== s.generation || s.phase !== 'authenticating' || e.connected) return same(s);
        if (!e.token) return stop(s);
        return { state: { ...s, phase: 'connecting', token: e.token }, effects: [{ type: 'connect', token: e.token.token }] };
      }
      if (e.generation !== s.generation || s.phase !== 'live' || !e.connected) return same(s);
      if (!e.token) return stop(s);
      return { state: s, effects: [{ type: 'renew', token: e.token.token, generation: s.generation }] };
    case 'token-failed':
      // The API is unreachable too: a failed attempt like any other, with its backoff.
      if (e.purpose === 'connect') return e.generation === s.generation && s.phase === 'authenticating' ? down(s, e.now) : same(s);
      return retryRenewal(s, e.generation);
    case 'renew-answer': {
      if (e.generation !== s.generation) return same(s);
      if (!e.answer.ok) {
        // If renewals keep failing, the server's `unauthorized` at expiry leads to a reconnect.
        const retry = retryRenewal(s, e.generation);
        return { state: retry.state, effects: [{ type: 'renew-refused', message: e.answer.message }, ...retry.effects] };
      }
      const next: Connection = { ...s, renewFailures: 0, token: { token: e.token, expiresAt: e.answer.expiresAt * 1000 } };
      return { state: next, effects: [{ type: 'renewed', expiresAt: next.token!.expiresAt }, ...scheduleRefresh(next, e.now)] };
    }
    case 'connected': {
      const next: Connection = { ...s, phase: 'live', heardAt: e.now, attempt: 0, lastCatchUp: 0, dataAt: null, offlineSince: null, renewFailures: 0 };
      return { state: next, effects: [{ type: 'cancel', timer: 'reconnect' }, ...scheduleRefresh(next, e.now), { type: 'resubscribe' }] };
    }
    case 'disconnected':
      return down(s, e.now);
    case 'connect-error': {
      if (!e.unauthorized) return down(s, e.now);
      // Refused for its token: the next attempt asks for a fresh one, unless its session is over.
      const reason = isSessionEnd(e.unauthorized.reason) ? e.unauthorized.reason : undefined;
      const told: ConnectionEffect = { type: 'unauthorized', during: 'handshake', message: e.unauthorized.message, ...(reason ? { reason } : {}) };
      const cleared = { ...s, token: null };
      if (reason) {
        const stopped = stop(cleared);
        return { state: stopped.state, effects: [...stopped.effects, told] };
      }
      const next = down(cleared, e.now);
      return { state: next.state, effects: [told, ...next.effects] };
    }
    case 'unauthorized': {
      const told: ConnectionEffect = { type: 'unauthorized', during: 'connection', message: e.message, ...(e.reason ? { reason: e.reason } : {}) };
      // The session ended (signed out here or elsewhere, a password reset): no token will come until a new sign-in.
      if (isSessionEnd(e.reason)) {
        const stopped = stop(s);
        return { state: stopped.state, effects: [...stopped.effects, told] };
      }
      // The token expired unrenewed: the server is closing the socket; reconnect with a fresh one.
      return { state: { ...s, token: null }, effects: [told, ...(e.connected ? [{ type: 'disconnect' } as const] : [])] };
    }
    case 'heard':
      return { state: { ...s, heardAt: e.now }, effects: [] };
    case 'caught-up':
      return { state: { ...s, lastCatchUp: s.lastCatchUp + e.changes }, effects: [] };
  }
}
