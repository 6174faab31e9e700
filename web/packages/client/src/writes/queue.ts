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
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import type { Timers } from '../types.js';
import type { ApiRow } from '@realtime/protocol';
import { retryAfterMs, verdictOf, versionFromEtag } from './policy.js';
import type { QueueStorage } from './storage.js';

export type WriteKind = 'create' | 'update' | 'delete';

/**
 * - `queued`: waiting its turn, or a retry (`attempts`, `nextAttemptAt`).
 * - `sending`: on the wire. A queue loaded from storage sends these again: whether the
 *   server got them is unknown, and the Idempotency-Key makes the resend safe.
 * - `sent`: the server applied it (`txid`, `version`); waiting for the stream to bring it.
 * - `confirmed`: the stream brought it, or a list read after the response holds it.
 * - `failed`: refused (`error`); retry() or discard().
 * - `conflict`: the row changed since `baseVersion` (`current` is the row now);
 *   resolveConflict() keeps mine or takes theirs.
 */
export type WriteState = 'queued' | 'sending' | 'sent' | 'confirmed' | 'failed' | 'conflict';

export interface WriteError {
  /** Absent for a network error or a timeout. */
  status?: number;
  /** The server's code (BAD_REQUEST, FORBIDDEN, NOT_FOUND, CONFLICT...). */
  code?: string;
  message: string;
}

/** One write. Plain JSON: this is what the store holds. */
export interface WriteEntry {
  /** A uuid; also the request's Idempotency-Key. */
  id: string;
  kind: WriteKind;
  /** The API's path segment: `projects`, `extraction-jobs`... */
  resource: string;
  rowId: string;
  /** A create's row (with its `id`), an update's patch; none for a delete. */
  body?: Record<string, unknown>;
  /** The row version the write was made against: sent as If-Match. Absent: last write wins. */
  baseVersion?: number;
  state: WriteState;
  /** Tries that ended in a retryable failure (network, 408, 429, 5xx). */
  attempts: number;
  /** A retry waits until then (ms since the epoch). */
  nextAttemptAt?: number;
  error?: WriteError;
  /** `conflict`: the row as the server has it now. */
  current?: ApiRow;
  /** The transaction that applied it: the stream's changes for it carry the same. */
  txid?: string;
  /** When the server's answer arrived (the queue's clock). */
  respondedAt?: number;
  /** The row version after the write (the answer's ETag). */
  version?: number;
  /** A create whose row id the queue generated: a 409 "id taken" then means an earlier attempt of this very write applied it. */
  ownId?: boolean;
  /** The row the server answered with (create, update), for a cache that wants it at once. */
  result?: ApiRow;
  createdAt: number;
  confirmedAt?: number;
}

export type ConfirmedBy = 'response' | 'stream' | 'refetch' | 'expired';

export type WriteEvent =
  /** Applied; waiting for the stream (`entry.txid`). */
  | { type: 'sent'; entry: WriteEntry }
  /**
   * Shown by the server's data: `response` (the answer had no txid to wait for),
   * `stream` (confirmTxids), `refetch` (confirmThrough), `expired` (sent longer ago than
   * `sentTtlMs`: the app is not watching that row, or the stream was down all along).
   */
  | { type: 'confirmed'; entry: WriteEntry; by: ConfirmedBy }
  /** A retryable failure: sent again in `delayMs` (or at kick()). */
  | { type: 'retrying'; entry: WriteEntry; delayMs: number; error: WriteError }
  | { type: 'failed'; entry: WriteEntry }
  | { type: 'conflict'; entry: WriteEntry }
  /** A queued write moved onto the version an earlier write of the same row produced. */
  | { type: 'rebased'; entry: WriteEntry; from: number | undefined; to: number }
  /** `unauthorized`: a write was answered 401; nothing is sent until resume() (after a sign-in). */
  | { type: 'paused'; reason: 'unauthorized' | 'manual' }
  | { type: 'resumed' }
  /**
   * The store failed. A failed save does not stop the queue (the writes still go out from
   * memory). After a failed load the queue saves nothing, so that what the store held is
   * still there for the next load.
   */
  | { type: 'storage-error'; op: 'load' | 'save'; error: unknown };

export interface WriteQueueOptions {
  storage: QueueStorage;
  /** The API's origin: '' (same origin, the default) or 'https://host:port'. Requests go to `${baseUrl}/api/<resource>`. */
  baseUrl?: string;
  /** Default: the global fetch. Requests carry cookies (`credentials: 'include'`). */
  fetch?: typeof globalThis.fetch;
  /** Retry delays (default: from 500 ms doubling up to 30 s, ±20%). */
  backoff?: BackoffOptions;
  /** The longest wait a Retry-After may ask for (default 5 min). */
  maxRetryAfterMs?: number;
  /** A request with no answer by then is given up and retried like a network error (default 30 s). */
  requestTimeoutMs?: number;
  /** A `sent` write the stream has not confirmed after this long counts as confirmed (default 5 min). */
  sentTtlMs?: number;
  /** How many confirmed entries stay listed (and stored) for the UI, newest kept (default 10; 0: none). */
  keepConfirmed?: number;
  /** Whether trying is worth it. Default: false only when `navigator.onLine` is false. While false, nothing is sent until kick(). */
  online?: () => boolean;
  onEvent?: (e: WriteEvent) => void;
  timers?: Timers;
  now?: () => number;
  random?: () => number;
  /** Entry and row ids (default crypto.randomUUID). */
  uuid?: () => string;
}

export interface WriteQueue {
  /** Settles once the stored entries are loaded (it never rejects: a failed load is reported as `storage-error`). */
  readonly ready: Promise<void>;
  /** Paused by pause(), or by a 401 until resume(). */
  readonly paused: boolean;
  /** Queues `POST /api/<resource>` with the row; its `id` is generated unless the row has one. */
  create(resource: string, row: Record<string, unknown>): WriteEntry;
  /** Queues `PATCH /api/<resource>/<id>`; with `baseVersion`, If-Match guards it. */
  update(resource: string, id: string, patch: Record<string, unknown>, baseVersion?: number): WriteEntry;
  /** Queues `DELETE /api/<resource>/<id>`; with `baseVersion`, If-Match guards it. */
  remove(resource: string, id: string, baseVersion?: number): WriteEntry;
  /** Every entry, in queue order. The same array until something changes (a snapshot for useSyncExternalStore). */
  entries(): readonly WriteEntry[];
  /** What the server's data may not show yet (all but `confirmed`; `failed` and `conflict` too, for the UI to show): the overlay over a cached list. */
  pending(resource?: string): WriteEntry[];
  /** Called with entries() after every change, and at pause/resume. */
  subscribe(listener: (entries: readonly WriteEntry[]) => void): () => void;
  /** Events beside the onEvent option. */
  on(listener: (e: WriteEvent) => void): () => void;
  /** A failed write queued again (behind what is queued now), or a waiting one sent now. False when there is no such entry. */
  retry(entryId: string): boolean;
  /** Drops an entry. False when it is unknown or on the wire (`sending`): that one can no longer be called back. */
  discard(entryId: string): boolean;
  /** `mine`: sent again against the conflict's current version; `theirs`: dropped. False unless the entry is in conflict. */
  resolveConflict(entryId: string, choice: 'mine' | 'theirs'): boolean;
  /** The txids of changes the stream delivered (call it after applying each batch): `sent` writes with one of them are confirmed. */
  confirmTxids(txids: Iterable<string | null | undefined>): void;
  /** A list (of `resource`, or of every resource) read at `time` (the queue's clock, taken before the request) holds every write answered before it. */
  confirmThrough(time: number, resource?: string): void;
  /** Try now: ends a backoff wait. Call it on `online`, when the tab is shown, when the socket reconnects. */
  kick(): void;
  pause(): void;
  resume(): void;
  /** Drops everything (sign-out); a request on the wire is abandoned. Resolves once the store holds nothing. */
  clear(): Promise<void>;
  /** Resolves once the store holds the current state. */
  flush(): Promise<void>;
  /** Stops sending (a request on the wire is abandoned, and stays `sending` in the store for the next queue); resolves after the last save. */
  close(): Promise<void>;
}

export function createWriteQueue(options: WriteQueueOptions): WriteQueue {
  return new Queue(options);
}

const KINDS = new Set<WriteKind>(['create', 'update', 'delete']);
const STATES = new Set<WriteState>(['queued', 'sending', 'sent', 'confirmed', 'failed', 'conflict']);
/** At most this many txids remembered while a write is on the wire (the stream may bring its change before its response). */
const SEEN_LIMIT = 10_000;

/** A copy without the keys whose value is undefined: entries stay plain JSON. */
function clean(entry: WriteEntry): WriteEntry {
  const out = { ...entry } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as WriteEntry;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rowVersion(row: ApiRow | undefined): number | undefined {
  const v = row?.version;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}

function checkVersion(v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new TypeError(`baseVersion must be a non-negative integer, got ${v}`);
}

/** What the store held, made safe to use: unknown shapes dropped, `sending` queued again. */
function revive(stored: unknown): WriteEntry[] {
  if (!Array.isArray(stored)) return [];
  const out: WriteEntry[] = [];
  for (const e of stored) {
    if (!isRecord(e) || typeof e.id !== 'string' || typeof e.resource !== 'string' || typeof e.rowId !== 'string') continue;
    if (!KINDS.has(e.kind as WriteKind) || !STATES.has(e.state as WriteState)) continue;
    const entry = { ...(e as unknown as WriteEntry), attempts: typeof e.attempts === 'number' ? e.attempts : 0 };
    // A reload is the user's own "try again": queued writes go at once.
    if (entry.state === 'sending' || entry.state === 'queued') out.push(clean({ ...entry, state: 'queued', nextAttemptAt: undefined }));
    else out.push(clean(entry));
  }
  return out;
}

/**
 * A v4 uuid. crypto.randomUUID exists only in secure contexts (https, localhost); an app
 * served over plain http on a LAN still has getRandomValues.
 */
export function randomUuid(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

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

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

class Queue implements WriteQueue {
  readonly ready: Promise<void>;
  private list: readonly WriteEntry[] = [];
  private readonly listeners = new Set<(entries: readonly WriteEntry[]) => void>();
  private readonly eventListeners = new Set<(e: WriteEvent) => void>();
  /** Bumped by every change of the list; `saved` is the count the store holds. */
  private changes = 0;
  private saved = 0;
  private saving: Promise<void> | null = null;
  private loaded = false;
  private storeUsable = true;
  private running = false;
  private waitTimer: unknown = null;
  private expiryTimer: unknown = null;
  private inflight: AbortController | null = null;
  /** Bumped by clear() and close(): an answer to a request from before is nobody's. */
  private generation = 0;
  private closed = false;
  private pausedBy: 'unauthorized' | 'manual' | null = null;
  /** Txids the stream delivered while a write was on the wire. */
  private seen: Set<string> | null = null;

  private readonly storage: QueueStorage;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof globalThis.fetch | undefined;
  private readonly backoff: BackoffOptions;
  private readonly maxRetryAfterMs: number;
  private readonly requestTimeoutMs: number;
  private readonly sentTtlMs: number;
  private readonly keepConfirmed: number;
  private readonly online: () => boolean;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly uuid: () => string;

  constructor(opts: WriteQueueOptions) {
    this.storage = opts.storage;
    this.baseUrl = (opts.baseUrl ?? '').replace(/\/+$/, '');
    this.fetchImpl = opts.fetch;
    this.backoff = opts.backoff ?? {};
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 300_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.sentTtlMs = opts.sentTtlMs ?? 300_000;
    this.keepConfirmed = Math.max(0, opts.keepConfirmed ?? 10);
    this.online = opts.online ?? (() => typeof navigator === 'undefined' || navigator.onLine !== false);
    this.timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.uuid = opts.uuid ?? randomUuid;
    if (opts.onEvent) this.eventListeners.add(opts.onEvent);
    const generation = this.generation;
    this.ready = Promise.resolve()
      .then(() => this.storage.load())
      .then(
        (stored) => this.adopt(generation === this.generation ? revive(stored) : []),
        (error: unknown) => {
          // What the store holds is unknown: it is left as it is for the next load rather
          // than replaced, and this queue works from memory.
          this.storeUsable = false;
          this.emit({ type: 'storage-error', op: 'load', error });
          this.adopt([]);
        },
      );
  }

  get paused(): boolean {
    return this.pausedBy !== null;
  }

  /** The stored entries go first: they were made before anything made since the page loaded. */
  private adopt(stored: WriteEntry[]): void {
    this.loaded = true;
    if (this.closed) return;
    this.set([...stored, ...this.list]);
    this.pump();
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
    if (!/^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/.test(w.resource)) throw new TypeError(`not a resource path: ${JSON.stringify(w.resource)}`);
    const entry = clean({ id: this.uuid(), ...w, state: 'queued', attempts: 0, createdAt: this.now() });
    this.set([...this.list, entry]);
    this.pump();
    return entry;
  }

  // ---- reading

  entries(): readonly WriteEntry[] {
    return this.list;
  }

  pending(resource?: string): WriteEntry[] {
    return this.list.filter((e) => e.state !== 'confirmed' && (resource === undefined || e.resource === resource));
  }

  subscribe(listener: (entries: readonly WriteEntry[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  on(listener: (e: WriteEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  // ---- the user's decisions

  retry(entryId: string): boolean {
    const e = this.get(entryId);
    if (!e) return false;
    if (e.state === 'queued') {
      this.kick();
      return true;
    }
    if (e.state !== 'failed') return false;
    this.requeue(e, {});
    return true;
  }

  discard(entryId: string): boolean {
    const e = this.get(entryId);
    if (!e || e.state === 'sending') return false;
    this.set(this.list.filter((x) => x.id !== entryId));
    // It may have been the write the others were waiting behind.
    this.clearWait();
    this.pump();
    return true;
  }

  resolveConflict(entryId: string, choice: 'mine' | 'theirs'): boolean {
    const e = this.get(entryId);
    if (!e || e.state !== 'conflict') return false;
    if (choice === 'theirs') return this.discard(entryId);
    const baseVersion = rowVersion(e.current);
    // A create that met an existing row: keeping mine writes my values over that row.
    if (e.kind === 'create') {
      const { id: _id, ...patch } = e.body ?? {};
      this.requeue(e, { kind: 'update', body: patch, baseVersion });
    } else {
      this.requeue(e, { baseVersion });
    }
    return true;
  }

  /**
   * Queued again behind everything queued now: those were made before this retry, and a
   * write that was tried (and may have been applied unseen) keeps its place at the head.
   */
  private requeue(e: WriteEntry, change: Partial<WriteEntry>): void {
    const again = clean({ ...e, ...change, state: 'queued', attempts: 0, nextAttemptAt: undefined, error: undefined, current: undefined });
    this.set([...this.list.filter((x) => x.id !== e.id), again]);
    this.pump();
  }

  // ---- confirmation

  confirmTxids(txids: Iterable<string | null | undefined>): void {
    const set = new Set<string>();
    for (const t of txids) if (typeof t === 'string' && t !== '') set.add(t);
    if (set.size === 0) return;
    if (this.seen) {
      for (const t of set) this.seen.add(t);
      while (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value!);
    }
    this.confirm((e) => e.state === 'sent' && e.txid !== undefined && set.has(e.txid), 'stream');
  }

  confirmThrough(time: number, resource?: string): void {
    this.confirm((e) => e.state === 'sent' && e.respondedAt !== undefined && e.respondedAt <= time && (resource === undefined || e.resource === resource), 'refetch');
  }

  private confirm(which: (e: WriteEntry) => boolean, by: ConfirmedBy): void {
    const now = this.now();
    const done: WriteEntry[] = [];
    const next = this.list.map((e) => {
      if (!which(e)) return e;
      const c = clean({ ...e, state: 'confirmed', confirmedAt: now });
      done.push(c);
      return c;
    });
    if (done.length === 0) return;
    this.set(next);
    for (const entry of done) this.emit({ type: 'confirmed', entry, by });
  }

  // ---- control

  kick(): void {
    if (this.closed) return;
    const head = this.list.find((e) => e.state === 'queued');
    if (head?.nextAttemptAt !== undefined) this.replace(clean({ ...head, nextAttemptAt: undefined }));
    this.clearWait();
    this.pump();
  }

  pause(): void {
    if (this.pausedBy) return;
    this.pausedBy = 'manual';
    this.clearWait();
    this.emit({ type: 'paused', reason: 'manual' });
    this.notify();
  }

  resume(): void {
    if (!this.pausedBy) return;
    this.pausedBy = null;
    this.emit({ type: 'resumed' });
    this.notify();
    this.pump();
  }

  clear(): Promise<void> {
    this.abandon();
    this.seen = null;
    this.set([]);
    return this.flush();
  }

  flush(): Promise<void> {
    return this.saveThrough(this.changes);
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

  // ---- state and storage

  private get(id: string): WriteEntry | undefined {
    return this.list.find((e) => e.id === id);
  }

  private replace(entry: WriteEntry): void {
    this.set(this.list.map((e) => (e.id === entry.id ? entry : e)));
  }

  private set(next: readonly WriteEntry[]): void {
    this.list = this.trimConfirmed(next);
    this.changes++;
    void this.flush();
    this.armExpiry();
    this.notify();
  }

  /** Confirmed entries are only for the UI's "saved" marks: the newest few are kept. */
  private trimConfirmed(list: readonly WriteEntry[]): readonly WriteEntry[] {
    const confirmed = list.filter((e) => e.state === 'confirmed');
    if (confirmed.length <= this.keepConfirmed) return list;
    const keep = new Set(
      confirmed
        .sort((a, b) => (b.confirmedAt ?? 0) - (a.confirmedAt ?? 0))
        .slice(0, this.keepConfirmed)
        .map((e) => e.id),
    );
    return list.filter((e) => e.state !== 'confirmed' || keep.has(e.id));
  }

  private notify(): void {
    for (const fn of [...this.listeners]) guarded(() => fn(this.list));
  }

  private emit(e: WriteEvent): void {
    for (const fn of [...this.eventListeners]) guarded(() => fn(e));
  }

  /**
   * Resolves once the store holds change `target` or a later one. Saves run one at a time,
   * each of the newest state when it starts, so the store ends with the last state
   * whatever the store's own timing; states in between may never be written.
   */
  private async saveThrough(target: number): Promise<void> {
    await this.ready;
    while (this.saved < target && this.storeUsable) {
      if (!this.saving) {
        const through = this.changes;
        const snapshot = [...this.list];
        this.saving = Promise.resolve()
          .then(() => this.storage.save(snapshot))
          .catch((error: unknown) => this.emit({ type: 'storage-error', op: 'save', error }))
          .finally(() => {
            this.saved = Math.max(this.saved, through);
            this.saving = null;
          });
      }
      await this.saving;
    }
  }

  /** A `sent` write the stream never confirms (a row no list of the app follows) must not stay pending for ever. */
  private armExpiry(): void {
    this.timers.clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (this.closed) return;
    let first = Infinity;
    for (const e of this.list) if (e.state === 'sent') first = Math.min(first, (e.respondedAt ?? 0) + this.sentTtlMs);
    if (first === Infinity) return;
    this.expiryTimer = this.timers.setTimeout(() => {
      this.expiryTimer = null;
      const now = this.now();
      this.confirm((e) => e.state === 'sent' && (e.respondedAt ?? 0) + this.sentTtlMs <= now, 'expired');
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
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        if (this.closed || this.pausedBy) return;
        const head = this.list.find((e) => e.state === 'queued');
        if (!head || !this.online()) return;
        const wait = (head.nextAttemptAt ?? 0) - this.now();
        if (wait > 0) {
          this.clearWait();
          this.waitTimer = this.timers.setTimeout(() => {
            this.waitTimer = null;
            this.pump();
          }, wait);
          return;
        }
        await this.send(head);
      }
    } finally {
      this.running = false;
    }
  }

  private request(e: WriteEntry): { method: string; url: string; init: RequestInit } {
    const path = `/api/${e.resource}${e.kind === 'create' ? '' : `/${encodeURIComponent(e.rowId)}`}`;
    const method = e.kind === 'create' ? 'POST' : e.kind === 'update' ? 'PATCH' : 'DELETE';
    const headers: Record<string, string> = { accept: 'application/json', 'idempotency-key': e.id };
    if (e.kind !== 'create' && e.baseVersion !== undefined) headers['if-match'] = `"${e.baseVersion}"`;
    let body: string | undefined;
    if (e.kind !== 'delete') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(e.body ?? {});
    }
    return { method, url: `${this.baseUrl}${path}`, init: { method, headers, body, credentials: 'include' } };
  }

  private async send(head: WriteEntry): Promise<void> {
    const generation = this.generation;
    const entry = clean({ ...head, state: 'sending', nextAttemptAt: undefined });
    this.replace(entry);
    // On disk before on the wire: a reload now sends it again rather than forgetting it.
    await this.flush();
    if (generation !== this.generation || this.get(entry.id)?.state !== 'sending') return;
    if (this.pausedBy) {
      this.replace(clean({ ...entry, state: 'queued' }));
      return;
    }

    const { method, url, init } = this.request(entry);
    const controller = new AbortController();
    this.inflight = controller;
    this.seen = new Set();
    const timer = this.timers.setTimeout(() => controller.abort(new TimeoutError(`no answer within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
    let status: number;
    let headers: Headers;
    let body: unknown;
    try {
      const fetch = this.fetchImpl ?? globalThis.fetch;
      const res = await fetch.call(globalThis, url, { ...init, signal: controller.signal });
      status = res.status;
      headers = res.headers;
      // An answer whose body is cut off still says what happened: its status and headers.
      const text = await res.text().catch(() => '');
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
    } catch (err) {
      this.seen = null;
      if (generation !== this.generation) return;
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      const message = reason instanceof Error ? reason.message : String(reason);
      this.retryLater(entry, { message: `${method} ${url}: ${message}` }, undefined);
      return;
    } finally {
      this.timers.clearTimeout(timer);
      if (this.inflight === controller) this.inflight = null;
    }
    if (generation !== this.generation) return;
    const seen = this.seen;
    this.seen = null;

    const verdict = verdictOf(status);
    if (verdict === 'done') return this.applied(entry, headers, body, seen);
    const error = this.errorOf(status, body, method, url);
    if (verdict === 'retry') return this.retryLater(entry, error, retryAfterMs(headers.get('retry-after'), this.now()));
    if (verdict === 'pause') {
      this.pausedBy = 'unauthorized';
      this.replace(clean({ ...entry, state: 'queued', error }));
      this.emit({ type: 'paused', reason: 'unauthorized' });
      return;
    }
    const current = isRecord(body) && isRecord(body.error) && isRecord(body.error.current) ? body.error.current : undefined;
    // A create whose id this queue made up, answered "id taken": no one else can have
    // chosen that uuid, so the row is this write's own, applied by an earlier attempt
    // whose answer was lost and whose idempotency key the server no longer keeps (a retry
    // later than IDEMPOTENCY_TTL_HOURS). Applied, not refused; with no txid to wait for.
    if (verdict === 'conflict' && !current && entry.kind === 'create' && entry.ownId && idTaken(body)) return this.applied(entry, new Headers(), undefined, seen);
    if (verdict === 'conflict' && current) {
      const next = clean({ ...entry, state: 'conflict', error, current, respondedAt: this.now() });
      this.replace(next);
      this.emit({ type: 'conflict', entry: next });
      return;
    }
    const next = clean({ ...entry, state: 'failed', error, respondedAt: this.now() });
    this.replace(next);
    this.emit({ type: 'failed', entry: next });
  }

  private errorOf(status: number, body: unknown, method: string, url: string): WriteError {
    const e = isRecord(body) && isRecord(body.error) ? body.error : {};
    const error: WriteError = { status, message: typeof e.message === 'string' ? e.message : `${method} ${url}: HTTP ${status}` };
    if (typeof e.code === 'string') error.code = e.code;
    return error;
  }

  private retryLater(entry: WriteEntry, error: WriteError, retryAfter: number | undefined): void {
    const attempts = entry.attempts + 1;
    const delayMs = retryAfter !== undefined ? Math.min(retryAfter, this.maxRetryAfterMs) : backoffDelay(attempts - 1, this.random, this.backoff);
    const next = clean({ ...entry, state: 'queued', attempts, error, nextAttemptAt: this.now() + delayMs });
    this.replace(next);
    this.emit({ type: 'retrying', entry: next, delayMs, error });
  }

  private applied(entry: WriteEntry, headers: Headers, body: unknown, seen: Set<string> | null): void {
    const now = this.now();
    const result = entry.kind !== 'delete' && isRecord(body) ? body : undefined;
    const version = versionFromEtag(headers.get('etag')) ?? rowVersion(result);
    const txid = headers.get('realtime-txid')?.trim() || undefined;
    // Without a txid there is nothing to wait for; with one the stream brought already, neither.
    const by: ConfirmedBy | null = txid === undefined ? 'response' : seen?.has(txid) ? 'stream' : null;
    const done = clean({
      ...entry,
      state: by ? 'confirmed' : 'sent',
      txid,
      version,
      result,
      respondedAt: now,
      confirmedAt: by ? now : undefined,
      error: undefined,
      nextAttemptAt: undefined,
    });
    const rebased: { entry: WriteEntry; from: number | undefined; to: number }[] = [];
    let list = this.list.map((e) => (e.id === done.id ? done : e));
    if (version !== undefined && entry.kind !== 'delete') {
      // The version this write replaced: what later writes of the row were made against.
      const replaced = entry.kind === 'create' ? [undefined, 1] : entry.baseVersion !== undefined ? [entry.baseVersion] : [];
      list = list.map((e) => {
        if (e.id === done.id || e.resource !== entry.resource || e.rowId !== entry.rowId || e.kind === 'create') return e;
        if ((e.state !== 'queued' && e.state !== 'failed') || !replaced.includes(e.baseVersion) || e.baseVersion === version) return e;
        const moved = clean({ ...e, baseVersion: version });
        rebased.push({ entry: moved, from: e.baseVersion, to: version });
        return moved;
      });
    }
    this.set(list);
    for (const r of rebased) this.emit({ type: 'rebased', ...r });
    this.emit(by ? { type: 'confirmed', entry: done, by } : { type: 'sent', entry: done });
  }
}

/** A 409 that names the row's id as taken (the API's `fields.id`). */
function idTaken(body: unknown): boolean {
  return isRecord(body) && isRecord(body.error) && isRecord(body.error.fields) && body.error.fields.id === 'taken';
}
