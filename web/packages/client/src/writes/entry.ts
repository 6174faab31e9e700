// A write of the durable queue, as the store holds it: plain JSON, one state at a time
// (see WriteState), and the events the queue reports as entries move between states.
import type { ApiRow } from '@realtime/protocol';

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

/** A copy without the keys whose value is undefined: entries stay plain JSON. */
export function clean(entry: WriteEntry): WriteEntry {
  const out = { ...entry } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as WriteEntry;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The version a row states (`version`, a number or digits), if any. */
export function rowVersion(row: ApiRow | undefined): number | undefined {
  const v = row?.version;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}

export function checkVersion(v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new TypeError(`baseVersion must be a non-negative integer, got ${v}`);
}

export function checkResource(resource: string): void {
  if (!/^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/.test(resource)) throw new TypeError(`not a resource path: ${JSON.stringify(resource)}`);
}

const KINDS = new Set<WriteKind>(['create', 'update', 'delete']);
const STATES = new Set<WriteState>(['queued', 'sending', 'sent', 'confirmed', 'failed', 'conflict']);

/** What the store held, made safe to use: unknown shapes dropped, `sending` queued again. */
export function revive(stored: unknown): WriteEntry[] {
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
