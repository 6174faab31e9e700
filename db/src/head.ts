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
 * against the history it came from (see docs/architecture.md, "History identity").
 */
export function fingerprint(input: string): string {
  return createHash('sha256').update(input).digest('base64url').slice(0, 12);
}
