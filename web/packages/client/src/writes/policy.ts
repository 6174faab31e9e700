// How the write queue reads an answer: what a status means for the write, and the two
// headers it takes numbers from. Pure, so the policy is tested on its own.

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
