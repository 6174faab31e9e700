// What the write queue offers and what it is given: the surface an app codes against.
import type { BackoffOptions } from '../backoff.js';
import type { Timers } from '../types.js';
import type { WriteEntry, WriteEvent } from './entry.js';
import type { RestConvention } from './rest.js';
import type { QueueStorage } from './storage.js';

export interface WriteQueueOptions {
  storage: QueueStorage;
  /** The API's origin: '' (same origin, the default) or 'https://host:port'. Requests go to `${baseUrl}${rest.url(resource, id?)}`. */
  baseUrl?: string;
  /** The API's REST convention, wholly or in part (default: `/api/<resource>[/<id>]`, errors as `{ error: { code, message } }`; see defaultRest). */
  rest?: Partial<RestConvention>;
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
  /** Queues a POST to the collection (`/api/<resource>` by default) with the row; its `id` is generated unless the row has one. */
  create(resource: string, row: Record<string, unknown>): WriteEntry;
  /** Queues a PATCH of the row (`/api/<resource>/<id>` by default); with `baseVersion`, If-Match guards it. */
  update(resource: string, id: string, patch: Record<string, unknown>, baseVersion?: number): WriteEntry;
  /** Queues a DELETE of the row; with `baseVersion`, If-Match guards it. */
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
