// The stream's head and its retention floor, defined once: SQL expressions that the list
// cursor, replay, the sequencer, the feed and the operators' stats embed in their queries.
// And the fingerprint of a position (history identity).
import { createHash } from 'node:crypto';

/** The highest seq pruned (realtime_state.pruned_through): every seq at or below it is gone, memberships excepted. */
const PRUNED_THROUGH = `(SELECT pruned_through FROM realtime_state WHERE id = 1)`;

/**
 * The stream's head: the highest seq the stream has reached, a bigint, never null.
 * Pruning may remove every stamped change (a quiet week under `RETENTION`): the seq it
 * recorded still counts, so the head never goes back below the floor and seqs never
 * start over. A position read with `max(seq)` alone would fall behind the floor and
 * send every client that resumes from it into `resync` until something new is written.
 */
export const HEAD_SQL = `greatest((SELECT max(seq) FROM change_outbox), ${PRUNED_THROUGH}, 0)`;

/**
 * The retention floor: a subscription resuming from a seq below it would miss changes,
 * so it gets `resync`. Membership changes (`project_members`) are never pruned, so the
 * lowest seq left is not the floor by itself: the recorded prune counts first, and the
 * lowest seq left counts when rows went without one (deleted by hand).
 */
export const FLOOR_SQL = `greatest(${PRUNED_THROUGH}, (SELECT min(seq) - 1 FROM change_outbox WHERE seq IS NOT NULL), 0)`;

/**
 * What the fingerprint of a stamped change is made of, as SQL over a `change_outbox` row
 * (`alias` names it in a join): its id, its txid and its commit time in microseconds,
 * as text. Values that a lost history and the one written after it never share at the
 * same seq: a restore rolls the id sequence and the xid counter back, not the clock.
 * The commit time (not created_at) because the WAL carries it: the replicator numbers
 * changes from the WAL before their stamp (early numbering) and must give them the
 * same fingerprint the stamped row will have. Every path (feed, replay, list cursor,
 * resume check, replicator) uses this or `fingerprintInput`, which spell the same text.
 */
export function fingerprintInputSql(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `(${a}id::text || ':' || ${a}txid::text || ':' || coalesce(((extract(epoch from ${a}committed_at) * 1000000)::bigint)::text, ''))`;
}

/** `fingerprintInputSql()` in JS: `commitMicros` is the commit time in microseconds since the Unix epoch. */
export function fingerprintInput(id: number | string | bigint, txid: string | number | bigint, commitMicros: bigint | string): string {
  return `${String(id)}:${String(txid)}:${String(commitMicros)}`;
}

/**
 * The fingerprint of a position (the change stamped with its seq): sha256 of its input,
 * 12 base64url characters (72 bits). Positions carry it so that a resume is checked
 * against the history it came from (see docs/replicator.md, "History identity").
 */
export function fingerprint(input: string): string {
  return createHash('sha256').update(input).digest('base64url').slice(0, 12);
}

/**
 * What a list's snapshot saw that its head does not name: the outbox rows committed
 * before the snapshot but not yet stamped (the stamp trails the commit by milliseconds,
 * longer while no replicator runs). A restore to a point before one of them loses it,
 * and the head's fingerprint cannot tell, because the head is older; worse, the new
 * history may hand its txid to another transaction, which the cursor's snapshot would
 * then call "already in the list". So the cursor also carries a digest of those rows
 * (their ids, txids and creation times: values a lost row and its replacement never
 * share), and a resume recomputes it from the same id range and snapshot.
 */
const PENDING_ROW_INPUT = `(id::text || ':' || txid::text || ':' || ((extract(epoch from created_at) * 1000000)::bigint)::text)`;

/** `lo`, `hi` (the id range, text) and `digest` (16 hex characters) of the outbox rows that `where` selects; all null when none. */
export function pendingDigestSql(where: string): string {
  return `SELECT min(id)::text AS lo, max(id)::text AS hi, left(encode(sha256(convert_to(string_agg(${PENDING_ROW_INPUT}, ',' ORDER BY id), 'UTF8')), 'hex'), 16) AS digest FROM change_outbox WHERE ${where}`;
}

/**
 * The same rows read back at a resume: within the cursor's id range, visible in its
 * snapshot, and not stamped at or below its head ($1 lo, $2 hi, $3 head, $4 snapshot).
 * Stamps are made in commit order on one session, so what was unstamped in the snapshot
 * is exactly what now has a seq above the head (or still none).
 */
export const PENDING_AT_RESUME_SQL = pendingDigestSql(`id BETWEEN $1::bigint AND $2::bigint AND (seq IS NULL OR seq > $3::bigint) AND pg_visible_in_snapshot(txid, $4::pg_snapshot)`);
