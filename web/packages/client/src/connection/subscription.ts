// One subscription as a state machine: sent, acknowledged, replaying, live, resynced or
// refused, each change made by reduceSubscription(state, event), which returns the next
// state and the effects for the client to run (emit, arm a retry, call a handler). Pure;
// the client keeps one of these per subscribe() and routes the server's events to it.
import type { ErrorCode, ResyncReason, SubscribeAck } from '@realtime/protocol';
import type { Resume } from '../types.js';

/**
 * - `pending`: waiting for the connection (made while offline, or the socket went down).
 * - `subscribing`: sent; its ack has not come back.
 * - `replaying`: acknowledged, catching up from its resume position.
 * - `live`: caught up; changes arrive as they are committed.
 * - `retrying`: refused for a passing reason (INTERNAL, RATE_LIMITED); asked again after a backoff.
 * - `resyncing`: the server cannot resume it (`resync`): its owner refetches and subscribes anew.
 * - `refused`: refused for good (an unknown channel, no grant); sent again only at a reconnect.
 * - `closed`: let go by its owner.
 */
export type SubscriptionPhase = 'pending' | 'subscribing' | 'replaying' | 'live' | 'retrying' | 'resyncing' | 'refused' | 'closed';

export interface Subscription {
  phase: SubscriptionPhase;
  /** The id the server gave it on this connection. */
  serverId: string | null;
  /** Sends so far: an ack for an earlier one is stale. */
  sends: number;
  /** Catching up: it was sent with a position and has not gone live since. */
  replaying: boolean;
  /** Changes received while replaying. */
  received: number;
  /** The last seq it has while it replays (null: it began from a cursor and has had nothing yet). */
  at: number | null;
  /** The head its ack reported. */
  head: number;
  /** Consecutive refusals asked again, for the retry's backoff. */
  refusals: number;
}

export type SubscriptionEvent =
  /** (Re)sent with this resume position (its fingerprint added). */
  | { type: 'send'; resume: Resume }
  | { type: 'ack'; send: number; ack: SubscribeAck }
  | { type: 'changes'; count: number; lastSeq: number }
  | { type: 'live'; seq: number }
  | { type: 'resync'; reason: ResyncReason }
  | { type: 'retry-due'; connected: boolean }
  | { type: 'disconnected' }
  | { type: 'close' };

export type SubscriptionEffect =
  | { type: 'subscribe'; resume: Resume; send: number }
  | { type: 'unsubscribe'; id: string }
  /** Events for this id are routed to it. */
  | { type: 'bind'; id: string }
  /** Events that came for this id before its ack are delivered now. */
  | { type: 'deliver-held'; id: string }
  /** This id is let go: late events for it are expected, not strays. */
  | { type: 'retire'; id: string }
  | { type: 'arm-retry'; backoff: number }
  | { type: 'cancel-retry' }
  /** Send it again (with a fresh resume position). */
  | { type: 'resend' }
  | { type: 'subscribed'; headSeq: number }
  | { type: 'error'; message: string; code: ErrorCode }
  | { type: 'went-live'; seq: number }
  | { type: 'resynced'; reason: ResyncReason }
  | { type: 'caught-up'; changes: number };

export interface SubscriptionStep {
  state: Subscription;
  effects: SubscriptionEffect[];
}

export const newSubscription = (): Subscription => ({ phase: 'pending', serverId: null, sends: 0, replaying: false, received: 0, at: null, head: 0, refusals: 0 });

/** INTERNAL is the server's passing trouble (its database restarting), RATE_LIMITED a burst: worth asking again. Any other code is about the request. */
export const retryable = (code: ErrorCode): boolean => code === 'INTERNAL' || code === 'RATE_LIMITED';

const same = (s: Subscription): SubscriptionStep => ({ state: s, effects: [] });

export function reduceSubscription(s: Subscription, e: SubscriptionEvent): SubscriptionStep {
  if (s.phase === 'closed' && e.type !== 'ack') return same(s);
  switch (e.type) {
    case 'send': {
      const since = (e.resume as { since?: unknown }).since;
      const sends = s.sends + 1;
      return {
        state: { ...s, phase: 'subscribing', serverId: null, sends, replaying: 'since' in e.resume || 'cursor' in e.resume, received: 0, at: typeof since === 'number' ? since : null, head: 0 },
        // A retry still pending would open a second subscription beside this one.
        effects: [{ type: 'cancel-retry' }, { type: 'subscribe', resume: e.resume, send: sends }],
      };
    }
    case 'ack': {
      // Let go meanwhile, or answered for an earlier send: the server's subscription is nobody's.
      if (s.phase === 'closed' || e.send !== s.sends || s.phase !== 'subscribing') return e.ack.ok ? { state: s, effects: [{ type: 'retire', id: e.ack.id }, { type: 'unsubscribe', id: e.ack.id }] } : same(s);
      if (!e.ack.ok) {
        const { code, message } = e.ack.error;
        const error: SubscriptionEffect = { type: 'error', message: `${code}: ${message}`, code };
        if (!retryable(code)) return { state: { ...s, phase: 'refused' }, effects: [error] };
        return { state: { ...s, phase: 'retrying', refusals: s.refusals + 1 }, effects: [error, { type: 'arm-retry', backoff: s.refusals }] };
      }
      return {
        state: { ...s, phase: s.replaying ? 'replaying' : 'live', serverId: e.ack.id, head: e.ack.headSeq, refusals: 0 },
        effects: [{ type: 'bind', id: e.ack.id }, { type: 'subscribed', headSeq: e.ack.headSeq }, { type: 'deliver-held', id: e.ack.id }],
      };
    }
    case 'changes':
      if (!s.replaying) return same(s);
      return { state: { ...s, received: s.received + e.count, at: Math.max(s.at ?? 0, e.lastSeq) }, effects: [] };
    case 'live': {
      const phase = s.phase === 'replaying' ? 'live' : s.phase;
      if (!s.replaying) return { state: { ...s, phase }, effects: [{ type: 'went-live', seq: e.seq }] };
      return { state: { ...s, phase, replaying: false }, effects: [{ type: 'caught-up', changes: s.received }, { type: 'went-live', seq: e.seq }] };
    }
    case 'resync':
      return { state: { ...s, phase: 'resyncing', serverId: null }, effects: [...(s.serverId ? [{ type: 'retire', id: s.serverId } as const] : []), { type: 'resynced', reason: e.reason }] };
    case 'retry-due':
      return s.phase === 'retrying' && e.connected ? { state: s, effects: [{ type: 'resend' }] } : same(s);
    case 'disconnected':
      // Sent again, every one of them, when the connection is back.
      return { state: { ...s, phase: 'pending', serverId: null }, effects: s.phase === 'retrying' ? [{ type: 'cancel-retry' }] : [] };
    case 'close':
      return {
        state: { ...s, phase: 'closed' },
        effects: [{ type: 'cancel-retry' }, ...(s.serverId ? [{ type: 'retire', id: s.serverId } as const, { type: 'unsubscribe', id: s.serverId } as const] : [])],
      };
  }
}
