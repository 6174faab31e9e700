// Whether a resume may read the outbox at all, decided from what the client sent and the
// feed's position alone: a position the stream never reached, or a pending range no list
// of ours would carry, is answered without a read. Pure, table-tested; the gateway acts.

/**
 * How far a resume's position may be ahead of this gateway's feed and still be waited
 * for: another gateway's feed, or this process's replicator, can be a few batches ahead
 * of this one. Beyond it the position is of another history (or made up): a refetch.
 */
export const SINCE_AHEAD_MARGIN = 1_000;

/**
 * The widest pending id range a cursor may ask the outbox to digest at a resume. A list
 * read just after a transaction of this many rows committed, before its stamp, carries
 * one this wide; its refetch, a moment later, does not.
 */
export const MAX_PENDING_SPAN = 100_000;

/**
 * - `read`: replay, taking turns (the position is within what the feed has handed out).
 * - `wait-for-feed`: ahead of the feed by at most the margin: wait for the feed (no read).
 * - `history-changed`: further ahead than any feed could be: resync, nothing read.
 * - `unavailable`: a cursor whose pending range is too wide to check: resync, the
 *   refetched list carries a narrower one.
 */
export type Admission = 'read' | 'wait-for-feed' | 'history-changed' | 'unavailable';

export function admitResume(from: number, feedPosition: number, pending: { lo: number; hi: number } | null, margin = SINCE_AHEAD_MARGIN, maxSpan = MAX_PENDING_SPAN): Admission {
  if (from > feedPosition + margin) return 'history-changed';
  if (pending && pending.hi - pending.lo + 1 > maxSpan) return 'unavailable';
  return from > feedPosition ? 'wait-for-feed' : 'read';
}
