// The change log appender's decisions, without IO: what a stamped change becomes in the
// log, how a batch splits into runs the log takes, and what a reconcile does given the
// stream's last entry and the outbox (same history, a gap to fill, or a new epoch).
import type { StampedChange } from '@realtime/db';
import type { LogChange } from '@realtime/changelog';

/** A stamped change as the log keeps it: without the outbox id, row id and actor. */
export function toLogChange(c: StampedChange): LogChange {
  return { seq: c.seq, table: c.table, op: c.op, newRow: c.newRow, oldRow: c.oldRow, txid: c.txid, committedAt: c.committedAt, rowBytes: c.rowBytes, fp: c.fp };
}

/**
 * Changes in seq order cut into dense runs (the log takes one dense run per append). A
 * batch may hold a hole: the worker thread keeps back changes nested too deep to cross;
 * the run after it then meets `gapAfter` and the hole is filled from the outbox.
 * Seqs at or below one already seen are dropped: the same change handed on twice.
 */
export function denseRuns<T extends { seq: number }>(changes: readonly T[]): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let prev: number | null = null;
  for (const c of changes) {
    if (prev !== null && c.seq <= prev) continue;
    if (prev !== null && c.seq !== prev + 1) {
      runs.push(run);
      run = [];
    }
    run.push(c);
    prev = c.seq;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

export interface ReconcileInput {
  /** The current stream's last entry, null when it has none. */
  last: { seq: number; fp: string } | null;
  /** The fingerprint of the outbox row stamped `last.seq`, null when there is none. */
  rowFp: string | null;
  /** The outbox head (HEAD_SQL). */
  head: number;
  /** The highest seq this appender appended from stamped batches while leading (null: none yet). */
  ownLast: number | null;
  /** How many changes an empty stream starts with: the head's page. */
  pageSize: number;
}

export type ReconcileDecision =
  /** The stream ends at the head, in this history: nothing to do. */
  | { kind: 'same' }
  /** Same history, behind the head: append (after, to] from the outbox. */
  | { kind: 'fill'; after: number; to: number }
  /** Its last entry is beyond the head: stamps handed on early have not committed yet; look again later. */
  | { kind: 'ahead' }
  /** The database's history is not the stream's: open a new epoch (then start it at the head's page). */
  | { kind: 'new-epoch'; reason: string };

/**
 * What a reconcile does. A stream that is empty starts at the head's page, (head - pageSize,
 * head]: readers find the head's fingerprint at once, and those a little behind find their
 * position, even while nothing is written; one page, whatever the history's length.
 */
export function decideReconcile(i: ReconcileInput): ReconcileDecision {
  const { last, head } = i;
  if (last === null) return head === 0 ? { kind: 'same' } : { kind: 'fill', after: Math.max(0, head - i.pageSize), to: head };
  if (last.seq > head) {
    // With early delivery (STAMP_EARLY=1) a batch is appended before its stamp commits:
    // the stream leads the outbox for milliseconds. That is expected of what this
    // appender wrote itself. Anything else beyond the head is not waited for: a leader
    // that died after appending early is renumbered identically by its successor, but a
    // restored database's stream looks the same, and every moment it stays current a
    // gateway may read the lost changes in it as live ones. A new epoch costs readers
    // one read of the outbox.
    if (i.ownLast !== null && last.seq <= i.ownLast) return { kind: 'ahead' };
    return { kind: 'new-epoch', reason: `the stream ends at seq ${last.seq}, beyond the outbox head ${head}, and this leader did not write it` };
  }
  if (i.rowFp === null) return { kind: 'new-epoch', reason: `the outbox has no row at seq ${last.seq}, the stream's last (another database, a restore, or pruned)` };
  if (i.rowFp !== last.fp) return { kind: 'new-epoch', reason: `the outbox row at seq ${last.seq} has fingerprint ${i.rowFp}, the stream's ${last.fp} (another history)` };
  if (last.seq === head) return { kind: 'same' };
  return { kind: 'fill', after: last.seq, to: head };
}

/**
 * Whether a stamped batch would take the queue of changes waiting for the log past `max`:
 * then the whole queue is dropped and the next reconcile refills the log from the outbox,
 * so a Redis that is away costs the process no more than `max` changes of memory.
 */
export function overflows(queued: number, incoming: number, max: number): boolean {
  return queued + incoming > max;
}

/** How far the log trails the outbox head; 0 when unknown or ahead. */
export function lagOf(head: number, lastSeq: number | null): number {
  return Math.max(0, head - (lastSeq ?? 0));
}

/**
 * What the leader's periodic look at the log decides while appends flow: nothing, or a
 * reconcile (which reads again and decides for itself). A fill is what steady writes look
 * like (stamps committed, their batches queued or being appended), so a gap needs a
 * reconcile only when the log has not closed it by the next look: `owedTo` is the head the
 * previous look saw the log short of. An empty stream, or another history, needs one now.
 */
export function lookVerdict(d: ReconcileDecision, lastSeq: number | null, owedTo: number | null): { reconcile: boolean; owedTo: number | null } {
  if (d.kind === 'same' || d.kind === 'ahead') return { reconcile: false, owedTo: null };
  if (d.kind === 'new-epoch' || lastSeq === null) return { reconcile: true, owedTo: null };
  if (owedTo !== null && lastSeq < owedTo) return { reconcile: true, owedTo: null };
  return { reconcile: false, owedTo: d.to };
}
