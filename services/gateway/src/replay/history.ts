// History identity: whether a position a client resumes from belongs to the history the
// outbox holds now (see docs/replicator.md, "History identity"). Pure, table-tested;
// the reads are in reader.ts (`readResumeCheck`).

/** A position as a client gives it back: a seq and the fingerprint of the change stamped with it. */
export interface Position {
  seq: number;
  /** Null: the position came without one (a cursor minted where no row had its seq, a `since` without `fp`). */
  fp: string | null;
}

export type Verdict = 'ok' | 'retention' | 'history-changed';

/**
 * One position against the outbox: its floor and head, and the fingerprint of the row
 * stamped `seq` now (null when no row has that seq). Checked before any replay.
 * - seq 0 (nothing seen) has nothing to check; below a floor above it, it is `retention`.
 * - below the floor: `retention` (as before: what follows it was pruned).
 * - above the head (after waiting for the outbox to show what the feed sent): the stream
 *   never reached it in this history: `history-changed`.
 * - exactly at the floor with no row: the row was pruned (the floor is the last seq
 *   pruned), so there is nothing to compare and nothing is missing after it: it resumes
 *   unchecked (a list read after a quiet week carries the floor as its head, and must not
 *   send every subscription into a resync). The one position not checked.
 * - a position without a fingerprint (a `since` without `fp`) where a row
 *   exists: it cannot be checked, so `history-changed` (a refetch, never a blind replay).
 * - no row at seq within (floor, head]: removed by hand, `history-changed`.
 * - a row whose fingerprint is not the position's (or a position without one): `history-changed`.
 */
export function resumeVerdict(pos: Position, bounds: { floor: number; head: number }, rowFp: string | null): Verdict {
  if (pos.seq < bounds.floor) return 'retention';
  if (pos.seq === 0) return 'ok';
  if (pos.seq > bounds.head) return 'history-changed';
  if (rowFp === null) return pos.seq === bounds.floor ? 'ok' : 'history-changed';
  return pos.fp !== null && pos.fp === rowFp ? 'ok' : 'history-changed';
}

/**
 * Every seq in (from, head] must have its row: seqs are dense, so fewer rows than seqs
 * means rows were removed by hand, and a replay would skip changes silently.
 */
export function gapVerdict(from: number, head: number, rowsInRange: number): Verdict {
  return head <= from || rowsInRange === head - from ? 'ok' : 'history-changed';
}

/** The worst of several verdicts: any `retention` or `history-changed` wins over `ok`, history first. */
export function worst(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('history-changed')) return 'history-changed';
  if (verdicts.includes('retention')) return 'retention';
  return 'ok';
}

/**
 * A list cursor's pending rows (committed before its snapshot, unstamped then) against the
 * same rows read back now (`readResumeCheck`). Unchecked when the cursor had none, and
 * when its head is below the floor (retention decides: those rows may have been pruned).
 * Otherwise the digest must be the same: a row lost (a restore to a point before it) or
 * replaced (its txid reused by the new history) changes it.
 */
export function pendingVerdict(expected: string | null, found: string | null, cursorHead: number, floor: number): Verdict {
  if (expected === null || cursorHead < floor) return 'ok';
  return found === expected ? 'ok' : 'history-changed';
}
