// How the write queue reads an answer: what a status means for the write, the two
// headers it takes numbers from, and the answer as the queue's machine takes it. Pure, so
// the policy is tested on its own.
import type { ApiRow } from '@realtime/protocol';
import { isRecord, rowVersion, type WriteEntry, type WriteError } from './entry.js';
import type { RestConvention } from './rest.js';

/**
 * - `done`: applied (2xx).
 * - `retry`: the server may take it later (network trouble, timeouts, overload): the
 *   same request again, after a backoff, and nothing behind it goes first.
 * - `pause`: the session is gone (401): every write waits for a sign-in.
 * - `conflict`: 409; a conflict with the row's current version when the body holds it.
 * - `fail`: the request itself is refused and would be refused again as it is.
 */
export type Verdict = 'done' | 'retry' | 'pause' | 'conflict' | 'fail';

export function verdictOf(status: number): Verdict {
  if (status >= 200 && status < 300) return 'done';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  if (status === 401) return 'pause';
  if (status === 409) return 'conflict';
  return 'fail';
}

/**
 * The row version an ETag names: `"3"`, `W/"3"` or a bare `3`. Anything else (an ETag of
 * another scheme) names none, and the queue then rebases nothing on it.
 */
export function versionFromEtag(etag: string | null | undefined): number | undefined {
  if (!etag) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(etag);
  return m ? Number(m[1]) : undefined;
}

/** A Retry-After (delta-seconds or an HTTP date) as milliseconds from `now`, never negative; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (header == null) return undefined;
  const value = header.trim();
  if (value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its day and month; Date.parse alone would read '-5' as a year.
  if (!/[A-Za-z]/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** An answer as the queue's machine takes it. */
export type Answer =
  /** Applied: the transaction's id (the stream's changes carry it), the row's version after it, the row. */
  | { kind: 'applied'; txid?: string; version?: number; result?: ApiRow }
  | { kind: 'retry'; error: WriteError; retryAfterMs?: number }
  | { kind: 'unauthorized'; error: WriteError }
  | { kind: 'conflict'; error: WriteError; current: ApiRow }
  | { kind: 'failed'; error: WriteError };

export interface Reply {
  status: number;
  headers: { get(name: string): string | null };
  /** The parsed JSON body; undefined when there was none or it was not JSON. */
  body: unknown;
}

/** What an answer means for the write; `label` (`POST <url>`) names it in messages the server did not give. */
export function answerOf(entry: WriteEntry, reply: Reply, rest: RestConvention, label: string, now: number): Answer {
  const { status, headers, body } = reply;
  const verdict = verdictOf(status);
  if (verdict === 'done') {
    const result = entry.kind !== 'delete' && isRecord(body) ? body : undefined;
    const txid = headers.get('realtime-txid')?.trim() || undefined;
    return { kind: 'applied', txid, version: versionFromEtag(headers.get('etag')) ?? rowVersion(result), result };
  }
  const refusal = rest.readError(status, body);
  const error: WriteError = { status, message: refusal.message ?? `${label}: HTTP ${status}` };
  if (refusal.code !== undefined) error.code = refusal.code;
  if (verdict === 'retry') return { kind: 'retry', error, retryAfterMs: retryAfterMs(headers.get('retry-after'), now) };
  if (verdict === 'pause') return { kind: 'unauthorized', error };
  if (verdict === 'conflict' && refusal.current) return { kind: 'conflict', error, current: refusal.current };
  // A create whose id this queue made up, answered "id taken": no one else can have
  // chosen that uuid, so the row is this write's own, applied by an earlier attempt
  // whose answer was lost and whose idempotency key the server no longer keeps (a retry
  // later than IDEMPOTENCY_TTL_HOURS). Applied, not refused; with no txid to wait for.
  if (verdict === 'conflict' && entry.kind === 'create' && entry.ownId && refusal.idTaken) return { kind: 'applied' };
  return { kind: 'failed', error };
}

/** No answer (the network, a timeout): tried again like a 5xx. */
export function noAnswer(label: string, message: string): Answer {
  return { kind: 'retry', error: { message: `${label}: ${message}` } };
}
