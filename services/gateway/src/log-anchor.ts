// Whether the change log's current stream is the history the outbox holds, as the live
// feed checks it once per stream before it follows it: a pure verdict and its reads.
import type pg from 'pg';
import { HEAD_SQL, fingerprint, fingerprintInputSql } from '@realtime/db';

/**
 * `same`: every entry the stream holds is the outbox's change at its seq; `other`: the
 * stream is another history (a restored or replaced database whose new history the
 * replicator leader has not opened yet); `unproven`: its last entry is beyond the outbox's
 * head, so nothing can be compared yet.
 */
export type StreamVerdict = 'same' | 'other' | 'unproven';

/** The outbox at one seq: its head, and the fingerprint of the row stamped with that seq (null: none). */
export interface OutboxAt {
  head: number;
  fp: string | null;
}

/**
 * The verdict on a stream from its last entry. A stream is one history, and histories
 * never meet again once they part, so a last entry that is the outbox's change proves
 * every entry before it. One entry at the feed's own position would not do: a feed that
 * starts at a restored database's head sits in the prefix both histories share, where the
 * stream agrees with the outbox, and every entry after it is a lost change. What the
 * feed will read runs to the stream's end, so the end is what is compared. Entries
 * appended after the check are the leader's, which appends to a stream only once its own
 * reconcile found it the outbox's history (the replicator's changelog/plan.ts).
 * An empty stream holds nothing of another history. A last entry beyond the head is an
 * early append whose stamp commits a moment later, or the end of a lost history that the
 * new one has not passed: it is looked at again, and the outbox feeds meanwhile. A last
 * entry with no row at or below the head is not this history (the appender opens a new
 * stream for it too).
 */
export function streamVerdict(last: { seq: number; fp: string } | null, outbox: OutboxAt): StreamVerdict {
  if (last === null) return 'same';
  if (last.seq > outbox.head) return 'unproven';
  return outbox.fp !== null && outbox.fp === last.fp ? 'same' : 'other';
}

/** The outbox's head and the fingerprint of its row at `seq`, in one statement. */
export async function readOutboxAt(pool: pg.Pool, seq: number): Promise<OutboxAt> {
  const { rows } = await pool.query<{ head: string | null; input: string | null }>(
    `SELECT ${HEAD_SQL} AS head, (SELECT ${fingerprintInputSql()} FROM change_outbox WHERE seq = $1) AS input`,
    [seq],
  );
  const r = rows[0];
  return { head: Number(r?.head ?? 0), fp: r?.input ? fingerprint(r.input) : null };
}

/**
 * The stream `key` against the outbox at the stream's last entry; an entry a moment ahead
 * of the outbox (an early append, its stamp not committed yet) is waited for up to `ms`.
 */
export async function checkStream(
  changeLog: { lastOf(key: string): Promise<{ seq: number; fp: string } | null> },
  pool: pg.Pool,
  key: string,
  ms: number,
  stopped: () => boolean,
): Promise<StreamVerdict> {
  const last = await changeLog.lastOf(key);
  if (last === null) return 'same';
  const until = Date.now() + ms;
  for (;;) {
    const verdict = streamVerdict(last, await readOutboxAt(pool, last.seq));
    if (verdict !== 'unproven' || stopped() || Date.now() >= until) return verdict;
    await new Promise((r) => setTimeout(r, 25).unref());
  }
}
