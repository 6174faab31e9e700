// The stream's head and its retention floor, defined once: SQL expressions that the list
// cursor, replay, the sequencer, the feed and the operators' stats embed in their queries.

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
