// The write queue as a state machine: every entry in one state (WriteState), and every
// change made by reduceQueue(state, event), which returns the next state and the effects
// for the queue's shell (report an event, look for the next write to send). Pure: time and
// the backoff's random draw come in with the events; the store, fetch and timers stay in
// the shell (queue.ts).
import type { ApiRow } from '@realtime/protocol';
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import { clean, rowVersion, type ConfirmedBy, type WriteEntry, type WriteEvent } from './entry.js';
import type { Answer } from './policy.js';

export interface QueueConfig {
  backoff: BackoffOptions;
  maxRetryAfterMs: number;
  sentTtlMs: number;
  keepConfirmed: number;
}

export interface QueueState {
  readonly config: QueueConfig;
  /** In queue order. */
  entries: readonly WriteEntry[];
  pausedBy: 'unauthorized' | 'manual' | null;
}

export type QueueEvent =
  | { type: 'add'; entry: WriteEntry }
  /** The store's entries: they go first, made before anything made since the page loaded. */
  | { type: 'loaded'; stored: WriteEntry[] }
  | { type: 'sending'; id: string }
  /** Paused while its save was under way: back in line, unsent. */
  | { type: 'unsent'; id: string }
  /** `streamed`: the stream brought the answer's txid while the request was on the wire. `jitter`: a draw for the backoff. */
  | { type: 'answered'; id: string; answer: Answer; now: number; streamed: boolean; jitter: number }
  | { type: 'confirm'; now: number; by: ConfirmedBy; txids?: ReadonlySet<string>; through?: number; resource?: string }
  | { type: 'retry'; id: string }
  | { type: 'discard'; id: string }
  | { type: 'resolve'; id: string; choice: 'mine' | 'theirs' }
  | { type: 'kick' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'clear' };

export type QueueEffect =
  | { type: 'emit'; event: WriteEvent }
  /** Look for the next write to send (ending any wait for a retry's time). */
  | { type: 'pump' }
  /** Listeners are told even though the entries did not change (a pause, a resume). */
  | { type: 'notify' };

export interface QueueStep {
  state: QueueState;
  effects: QueueEffect[];
  /** False when the event asked for something the entry's state does not allow (retry, discard, resolve). */
  ok: boolean;
}

export function initialQueue(config: QueueConfig): QueueState {
  return { config, entries: [], pausedBy: null };
}

/** What the shell does next: send the head of the line, wait until its retry time, or nothing. */
export type Next = { type: 'send'; entry: WriteEntry } | { type: 'wait'; ms: number } | { type: 'idle' };

export function nextStep(s: QueueState, now: number, online: boolean): Next {
  if (s.pausedBy) return { type: 'idle' };
  const head = s.entries.find((e) => e.state === 'queued');
  if (!head || !online) return { type: 'idle' };
  const wait = (head.nextAttemptAt ?? 0) - now;
  return wait > 0 ? { type: 'wait', ms: wait } : { type: 'send', entry: head };
}

/** When the next `sent` write counts as confirmed for want of a confirmation (Infinity: none is sent). */
export function nextExpiry(s: QueueState): number {
  let first = Infinity;
  for (const e of s.entries) if (e.state === 'sent') first = Math.min(first, (e.respondedAt ?? 0) + s.config.sentTtlMs);
  return first;
}

const ok = (state: QueueState, effects: QueueEffect[] = []): QueueStep => ({ state, effects, ok: true });
const refused = (state: QueueState): QueueStep => ({ state, effects: [], ok: false });

/**
 * Confirmed entries are only for the UI's "saved" marks: the newest few are kept. Newest by
 * confirmation time, and, among those confirmed in the same millisecond (answers a moment
 * apart), by queue order: the later write is the newer.
 */
export function trimConfirmed(list: readonly WriteEntry[], keep: number): readonly WriteEntry[] {
  const confirmed = list.map((e, at) => ({ e, at })).filter(({ e }) => e.state === 'confirmed');
  if (confirmed.length <= keep) return list;
  const kept = new Set(
    confirmed
      .sort((a, b) => (b.e.confirmedAt ?? 0) - (a.e.confirmedAt ?? 0) || b.at - a.at)
      .slice(0, keep)
      .map(({ e }) => e.id),
  );
  return list.filter((e) => e.state !== 'confirmed' || kept.has(e.id));
}

const withEntries = (s: QueueState, entries: readonly WriteEntry[]): QueueState => ({ ...s, entries: trimConfirmed(entries, s.config.keepConfirmed) });
const replace = (s: QueueState, entry: WriteEntry): QueueState => withEntries(s, s.entries.map((e) => (e.id === entry.id ? entry : e)));

/**
 * Queued again behind everything queued now: those were made before this retry, and a
 * write that was tried (and may have been applied unseen) keeps its place at the head.
 */
function requeue(s: QueueState, e: WriteEntry, change: Partial<WriteEntry>): QueueStep {
  const again = clean({ ...e, ...change, state: 'queued', attempts: 0, nextAttemptAt: undefined, error: undefined, current: undefined });
  return ok(withEntries(s, [...s.entries.filter((x) => x.id !== e.id), again]), [{ type: 'pump' }]);
}

function discard(s: QueueState, id: string): QueueStep {
  const e = s.entries.find((x) => x.id === id);
  if (!e || e.state === 'sending') return refused(s);
  // It may have been the write the others were waiting behind.
  return ok(withEntries(s, s.entries.filter((x) => x.id !== id)), [{ type: 'pump' }]);
}

function confirm(s: QueueState, which: (e: WriteEntry) => boolean, by: ConfirmedBy, now: number): QueueStep {
  const done: WriteEntry[] = [];
  const entries = s.entries.map((e) => {
    if (!which(e)) return e;
    const c = clean({ ...e, state: 'confirmed', confirmedAt: now });
    done.push(c);
    return c;
  });
  if (done.length === 0) return ok(s);
  return ok(
    withEntries(s, entries),
    done.map((entry) => ({ type: 'emit', event: { type: 'confirmed', entry, by } })),
  );
}

function answered(s: QueueState, entry: WriteEntry, e: Extract<QueueEvent, { type: 'answered' }>): QueueStep {
  const { answer, now } = e;
  switch (answer.kind) {
    case 'applied':
      return applied(s, entry, answer, now, e.streamed);
    case 'retry': {
      const attempts = entry.attempts + 1;
      const delayMs = answer.retryAfterMs !== undefined ? Math.min(answer.retryAfterMs, s.config.maxRetryAfterMs) : backoffDelay(attempts - 1, () => e.jitter, s.config.backoff);
      const next = clean({ ...entry, state: 'queued', attempts, error: answer.error, nextAttemptAt: now + delayMs });
      return ok(replace(s, next), [{ type: 'emit', event: { type: 'retrying', entry: next, delayMs, error: answer.error } }]);
    }
    case 'unauthorized':
      return ok({ ...replace(s, clean({ ...entry, state: 'queued', error: answer.error })), pausedBy: 'unauthorized' }, [{ type: 'emit', event: { type: 'paused', reason: 'unauthorized' } }]);
    case 'conflict': {
      const next = clean({ ...entry, state: 'conflict', error: answer.error, current: answer.current, respondedAt: now });
      return ok(replace(s, next), [{ type: 'emit', event: { type: 'conflict', entry: next } }]);
    }
    case 'failed': {
      const next = clean({ ...entry, state: 'failed', error: answer.error, respondedAt: now });
      return ok(replace(s, next), [{ type: 'emit', event: { type: 'failed', entry: next } }]);
    }
  }
}

/**
 * Applied: `sent` until the stream shows it, or `confirmed` at once when there is no txid
 * to wait for or the stream already brought it. Later queued writes of the row made
 * against the version this one replaced move onto the version it produced.
 */
function applied(s: QueueState, entry: WriteEntry, answer: Extract<Answer, { kind: 'applied' }>, now: number, streamed: boolean): QueueStep {
  const { txid, version, result } = answer;
  const by: ConfirmedBy | null = txid === undefined ? 'response' : streamed ? 'stream' : null;
  const done = clean({ ...entry, state: by ? 'confirmed' : 'sent', txid, version, result, respondedAt: now, confirmedAt: by ? now : undefined, error: undefined, nextAttemptAt: undefined });
  const rebased: WriteEffectRebased[] = [];
  let list = s.entries.map((e) => (e.id === done.id ? done : e));
  if (version !== undefined && entry.kind !== 'delete') {
    // The version this write replaced: what later writes of the row were made against.
    const replaced = entry.kind === 'create' ? [undefined, 1] : entry.baseVersion !== undefined ? [entry.baseVersion] : [];
    list = list.map((e) => {
      if (e.id === done.id || e.resource !== entry.resource || e.rowId !== entry.rowId || e.kind === 'create') return e;
      if ((e.state !== 'queued' && e.state !== 'failed') || !replaced.includes(e.baseVersion) || e.baseVersion === version) return e;
      const moved = clean({ ...e, baseVersion: version });
      rebased.push({ type: 'rebased', entry: moved, from: e.baseVersion, to: version });
      return moved;
    });
  }
  const events: WriteEvent[] = [...rebased, by ? { type: 'confirmed', entry: done, by } : { type: 'sent', entry: done }];
  return ok(withEntries(s, list), events.map((event) => ({ type: 'emit', event })));
}

type WriteEffectRebased = Extract<WriteEvent, { type: 'rebased' }>;

export function reduceQueue(s: QueueState, e: QueueEvent): QueueStep {
  const find = (id: string) => s.entries.find((x) => x.id === id);
  switch (e.type) {
    case 'add':
      return ok(withEntries(s, [...s.entries, e.entry]), [{ type: 'pump' }]);
    case 'loaded':
      return ok(withEntries(s, [...e.stored, ...s.entries]), [{ type: 'pump' }]);
    case 'sending': {
      const entry = find(e.id);
      return entry?.state === 'queued' ? ok(replace(s, clean({ ...entry, state: 'sending', nextAttemptAt: undefined }))) : refused(s);
    }
    case 'unsent': {
      const entry = find(e.id);
      return entry?.state === 'sending' ? ok(replace(s, clean({ ...entry, state: 'queued' }))) : refused(s);
    }
    case 'answered': {
      const entry = find(e.id);
      return entry?.state === 'sending' ? answered(s, entry, e) : refused(s);
    }
    case 'confirm': {
      const { by, txids, through, resource, now } = e;
      return confirm(
        s,
        (x) => {
          if (x.state !== 'sent') return false;
          if (by === 'stream') return x.txid !== undefined && txids !== undefined && txids.has(x.txid);
          if (by === 'refetch') return x.respondedAt !== undefined && through !== undefined && x.respondedAt <= through && (resource === undefined || x.resource === resource);
          return by === 'expired' && (x.respondedAt ?? 0) + s.config.sentTtlMs <= now;
        },
        by,
        now,
      );
    }
    case 'retry': {
      const entry = find(e.id);
      // A waiting one goes now.
      if (entry?.state === 'queued') return reduceQueue(s, { type: 'kick' });
      return entry?.state === 'failed' ? requeue(s, entry, {}) : refused(s);
    }
    case 'discard':
      return discard(s, e.id);
    case 'resolve': {
      const entry = find(e.id);
      if (entry?.state !== 'conflict') return refused(s);
      if (e.choice === 'theirs') return discard(s, e.id);
      const baseVersion = rowVersion(entry.current as ApiRow | undefined);
      // A create that met an existing row: keeping mine writes my values over that row.
      if (entry.kind === 'create') {
        const { id: _id, ...patch } = entry.body ?? {};
        return requeue(s, entry, { kind: 'update', body: patch, baseVersion });
      }
      return requeue(s, entry, { baseVersion });
    }
    case 'kick': {
      const head = s.entries.find((x) => x.state === 'queued');
      const state = head?.nextAttemptAt !== undefined ? replace(s, clean({ ...head, nextAttemptAt: undefined })) : s;
      return ok(state, [{ type: 'pump' }]);
    }
    case 'pause':
      if (s.pausedBy) return ok(s);
      return ok({ ...s, pausedBy: 'manual' }, [{ type: 'emit', event: { type: 'paused', reason: 'manual' } }, { type: 'notify' }]);
    case 'resume':
      if (!s.pausedBy) return ok(s);
      return ok({ ...s, pausedBy: null }, [{ type: 'emit', event: { type: 'resumed' } }, { type: 'notify' }, { type: 'pump' }]);
    case 'clear':
      return ok(withEntries(s, []));
  }
}
