// The durable write queue: creates, updates and deletes made while the network may be
// down, kept in a store until the server has them, sent in the order they were made, one
// at a time, and followed until the stream (or a refetched list) shows them.
//
// Why one at a time: a later write may depend on an earlier one (an update of a row that
// a create before it makes), so nothing overtakes a write that may still go through; a
// write the server refuses for good steps aside (failed, conflict) and the rest go on.
//
// Why an Idempotency-Key: a response can be lost after the server committed. The entry's
// id travels as the key, so the resend (after a reload too) is answered from the server's
// record of the first one, and the write is applied once.
//
// Why versions: an update or delete names the row version it was made against
// (`If-Match`), so a change someone else made in between comes back as a conflict rather
// than being overwritten. The user's own earlier write of the same row moves that version
// too; the queue rebases the later ones onto the version the server answered with, so
// one's own writes never conflict with each other.
//
// One queue per signed-in user, over a store keyed by that user (e.g. IndexedDB under
// `writes:<userId>`): the entries are that user's, and sending them under another
// session would write them as someone else. Sign-out: clear(), then close().
import { realTimers, type Timers } from '../types.js';
import { checkResource, checkVersion, clean, randomUuid, revive, type WriteEntry, type WriteEvent } from './entry.js';
import { initialQueue, nextExpiry, nextStep, reduceQueue, type QueueEffect, type QueueEvent, type QueueState } from './machine.js';
import { restConvention } from './rest.js';
import { transmit, type Transport } from './transport.js';
import { Saves } from './storage.js';
import type { WriteQueue, WriteQueueOptions } from './types.js';

export type { WriteQueue, WriteQueueOptions } from './types.js';
export type { ConfirmedBy, WriteEntry, WriteError, WriteEvent, WriteKind, WriteState } from './entry.js';
export { randomUuid } from './entry.js';

export function createWriteQueue(options: WriteQueueOptions): WriteQueue {
  return new Queue(options);
}

/** At most this many txids remembered while a write is on the wire (the stream may bring its change before its response). */
const SEEN_LIMIT = 10_000;

/** A listener that throws must not leave a write half-handled: its error surfaces on its own. */
function guarded(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** The shell: the store, fetch and timers around the queue's machine (machine.ts), which makes every decision. */
class Queue implements WriteQueue {
  readonly ready: Promise<void>;
  private state: QueueState;
  private readonly listeners = new Set<(entries: readonly WriteEntry[]) => void>();
  private readonly eventListeners = new Set<(e: WriteEvent) => void>();
  /** Bumped by every change of the entries. */
  private changes = 0;
  private readonly saves: Saves;
  private loaded = false;
  private running = false;
  private waitTimer: unknown = null;
  private expiryTimer: unknown = null;
  private inflight: AbortController | null = null;
  /** Bumped by clear() and close(): an answer to a request from before is nobody's. */
  private generation = 0;
  private closed = false;
  /** Txids the stream delivered while a write was on the wire. */
  private seen: Set<string> | null = null;

  private readonly transport: Transport;
  private readonly online: () => boolean;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly uuid: () => string;

  constructor(opts: WriteQueueOptions) {
    this.saves = new Saves(opts.storage, () => ({ changes: this.changes, entries: this.state.entries }), (error) => this.emit({ type: 'storage-error', op: 'save', error }));
    this.online = opts.online ?? (() => typeof navigator === 'undefined' || navigator.onLine !== false);
    this.timers = opts.timers ?? realTimers;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.uuid = opts.uuid ?? randomUuid;
    this.transport = {
      rest: restConvention(opts.rest),
      baseUrl: (opts.baseUrl ?? '').replace(/\/+$/, ''),
      fetch: opts.fetch,
      timers: this.timers,
      now: this.now,
      timeoutMs: opts.requestTimeoutMs ?? 30_000,
    };
    this.state = initialQueue({
      backoff: opts.backoff ?? {},
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 300_000,
      sentTtlMs: opts.sentTtlMs ?? 300_000,
      keepConfirmed: Math.max(0, opts.keepConfirmed ?? 10),
    });
    if (opts.onEvent) this.eventListeners.add(opts.onEvent);
    const generation = this.generation;
    this.ready = Promise.resolve()
      .then(() => opts.storage.load())
      .then(
        (stored) => this.adopt(generation === this.generation ? revive(stored) : []),
        (error: unknown) => {
          // What the store holds is unknown: it is left as it is for the next load rather
          // than replaced, and this queue works from memory.
          this.saves.usable = false;
          this.emit({ type: 'storage-error', op: 'load', error });
          this.adopt([]);
        },
      );
  }

  get paused(): boolean {
    return this.state.pausedBy !== null;
  }

  private adopt(stored: WriteEntry[]): void {
    this.loaded = true;
    if (this.closed) return;
    this.dispatch({ type: 'loaded', stored });
  }

  // ---- making writes

  create(resource: string, row: Record<string, unknown>): WriteEntry {
    const made = row.id === undefined || row.id === null;
    const rowId = made ? this.uuid() : String(row.id);
    return this.add({ kind: 'create', resource, rowId, body: { ...row, id: rowId }, ...(made ? { ownId: true } : {}) });
  }

  update(resource: string, id: string, patch: Record<string, unknown>, baseVersion?: number): WriteEntry {
    checkVersion(baseVersion);
    return this.add({ kind: 'update', resource, rowId: id, body: { ...patch }, baseVersion });
  }

  remove(resource: string, id: string, baseVersion?: number): WriteEntry {
    checkVersion(baseVersion);
    return this.add({ kind: 'delete', resource, rowId: id, baseVersion });
  }

  private add(w: Pick<WriteEntry, 'kind' | 'resource' | 'rowId' | 'body' | 'baseVersion' | 'ownId'>): WriteEntry {
    if (this.closed) throw new Error('the write queue is closed');
    checkResource(w.resource);
    const entry = clean({ id: this.uuid(), ...w, state: 'queued', attempts: 0, createdAt: this.now() });
    this.dispatch({ type: 'add', entry });
    return entry;
  }

  // ---- reading

  entries(): readonly WriteEntry[] {
    return this.state.entries;
  }

  pending(resource?: string): WriteEntry[] {
    return this.state.entries.filter((e) => e.state !== 'confirmed' && (resource === undefined || e.resource === resource));
  }

  subscribe(listener: (entries: readonly WriteEntry[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  on(listener: (e: WriteEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  // ---- the user's decisions, the stream's and the app's word

  retry(entryId: string): boolean {
    return this.dispatch({ type: 'retry', id: entryId });
  }

  discard(entryId: string): boolean {
    return this.dispatch({ type: 'discard', id: entryId });
  }

  resolveConflict(entryId: string, choice: 'mine' | 'theirs'): boolean {
    return this.dispatch({ type: 'resolve', id: entryId, choice });
  }

  confirmTxids(txids: Iterable<string | null | undefined>): void {
    const set = new Set<string>();
    for (const t of txids) if (typeof t === 'string' && t !== '') set.add(t);
    if (set.size === 0) return;
    if (this.seen) {
      for (const t of set) this.seen.add(t);
      while (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value!);
    }
    this.dispatch({ type: 'confirm', by: 'stream', txids: set, now: this.now() });
  }

  confirmThrough(time: number, resource?: string): void {
    this.dispatch({ type: 'confirm', by: 'refetch', through: time, ...(resource === undefined ? {} : { resource }), now: this.now() });
  }

  kick(): void {
    if (!this.closed) this.dispatch({ type: 'kick' });
  }

  pause(): void {
    this.dispatch({ type: 'pause' });
  }

  resume(): void {
    this.dispatch({ type: 'resume' });
  }

  clear(): Promise<void> {
    this.abandon();
    this.seen = null;
    this.dispatch({ type: 'clear' });
    return this.flush();
  }

  async flush(): Promise<void> {
    const target = this.changes;
    await this.ready;
    await this.saves.through(target);
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.abandon();
      this.timers.clearTimeout(this.expiryTimer);
      this.expiryTimer = null;
    }
    await this.flush();
    this.listeners.clear();
    this.eventListeners.clear();
  }

  /** Whatever is on the wire or waiting is let go: its answer will find a newer generation. */
  private abandon(): void {
    this.generation++;
    this.inflight?.abort();
    this.inflight = null;
    this.clearWait();
  }

  // ---- the machine and its effects

  private dispatch(e: QueueEvent): boolean {
    const before = this.state.entries;
    const step = reduceQueue(this.state, e);
    this.state = step.state;
    if (step.state.entries !== before) {
      this.changes++;
      void this.flush();
      this.armExpiry();
      this.notify();
    }
    for (const effect of step.effects) this.run(effect);
    return step.ok;
  }

  private run(effect: QueueEffect): void {
    if (effect.type === 'emit') this.emit(effect.event);
    else if (effect.type === 'notify') this.notify();
    else {
      this.clearWait();
      this.pump();
    }
  }

  private notify(): void {
    for (const fn of [...this.listeners]) guarded(() => fn(this.state.entries));
  }

  private emit(e: WriteEvent): void {
    for (const fn of [...this.eventListeners]) guarded(() => fn(e));
  }

  /** A `sent` write the stream never confirms (a row no list of the app follows) must not stay pending for ever. */
  private armExpiry(): void {
    this.timers.clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (this.closed) return;
    const first = nextExpiry(this.state);
    if (first === Infinity) return;
    this.expiryTimer = this.timers.setTimeout(() => {
      this.expiryTimer = null;
      this.dispatch({ type: 'confirm', by: 'expired', now: this.now() });
      // A clock that moved differently from the timer: look again.
      this.armExpiry();
    }, Math.max(0, first - this.now()));
  }

  // ---- sending

  private clearWait(): void {
    this.timers.clearTimeout(this.waitTimer);
    this.waitTimer = null;
  }

  private pump(): void {
    if (this.running || this.closed || !this.loaded) return;
    this.running = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.closed) return;
        const next = nextStep(this.state, this.now(), this.online());
        if (next.type === 'idle') return;
        if (next.type === 'wait') {
          this.clearWait();
          this.waitTimer = this.timers.setTimeout(() => {
            this.waitTimer = null;
            this.pump();
          }, next.ms);
          return;
        }
        await this.send(next.entry);
      }
    } finally {
      this.running = false;
    }
  }

  private async send(head: WriteEntry): Promise<void> {
    const generation = this.generation;
    const id = head.id;
    this.dispatch({ type: 'sending', id });
    // On disk before on the wire: a reload now sends it again rather than forgetting it.
    await this.flush();
    const entry = this.state.entries.find((e) => e.id === id);
    if (generation !== this.generation || entry?.state !== 'sending') return;
    if (this.state.pausedBy) {
      this.dispatch({ type: 'unsent', id });
      return;
    }
    const controller = new AbortController();
    this.inflight = controller;
    this.seen = new Set();
    const answer = await transmit(entry, controller, this.transport);
    if (this.inflight === controller) this.inflight = null;
    if (generation !== this.generation) return;
    const seen = this.seen;
    this.seen = null;
    const streamed = answer.kind === 'applied' && answer.txid !== undefined && seen !== null && seen.has(answer.txid);
    this.dispatch({ type: 'answered', id, answer, now: this.now(), streamed, jitter: this.random() });
  }
}
