// Numbering a batch from the WAL alone, before its stamp statement runs, so that its
// changes go out without waiting for Postgres. This is exact only where a successor would
// number the same transactions the same way, which holds for whole transactions that end
// after `from`: the WAL insert position read when this stream started, after every stamp
// made so far had committed. Every stamped row belongs to a transaction committed before
// that read, so no row of a later one has a seq, and the leader numbers those in commit
// order, head + 1 onwards, exactly as its stamp statement then does (and as a successor
// does if the stamp is lost). The argument in full: docs/replicator.md, "Off the live path"
// (changes go out before their stamp).
import { fingerprint, fingerprintInput } from '@realtime/db';
import { parseLsn } from '../wal/lsn';
import type { Piece } from '../wal/transactions';
import type { StampedChange } from './stamp';

/** The outbox columns the publication must send (migration 0006) for early numbering. */
export const EARLY_COLUMNS = ['id', 'table_name', 'op', 'row_id', 'new_row', 'old_row', 'txid', 'actor', 'row_bytes'] as const;

const complete = (row: Record<string, unknown> | undefined) => row === undefined || EARLY_COLUMNS.every((c) => c in row);

/**
 * Whether every piece may be numbered early: whole transactions (a transaction split into
 * pieces may be half stamped by a leader that died), committed after `from`, whose rows
 * came with every column.
 */
export function earlyEligible(pieces: readonly Piece[], from: bigint | null): boolean {
  if (from === null || pieces.length === 0) return false;
  return pieces.every((p) => p.whole && p.commitEnd !== null && parseLsn(p.commitEnd) > from && p.rows.length === p.ids.length && complete(p.rows[0]));
}

/** The changes of `pieces` numbered head + 1 onwards, as the stamp statement will number them. */
export function numberEarly(pieces: readonly Piece[], head: number): StampedChange[] {
  const out: StampedChange[] = [];
  let seq = head;
  for (const p of pieces) {
    // Milliseconds, cut as the driver cuts the stamped committed_at it reads back.
    const committedAt = new Date(Number(p.commitTime / 1000n)).toISOString();
    for (const r of p.rows) {
      out.push({
        id: Number(r.id),
        seq: ++seq,
        table: r.table_name as string,
        op: r.op as StampedChange['op'],
        rowId: r.row_id as string,
        newRow: (r.new_row ?? null) as Record<string, unknown> | null,
        oldRow: (r.old_row ?? null) as Record<string, unknown> | null,
        txid: String(r.txid),
        actor: (r.actor ?? null) as string | null,
        committedAt,
        rowBytes: Number(r.row_bytes ?? 0),
        // The commit time to the microsecond, as the stamp writes it (microsToIso).
        fp: fingerprint(fingerprintInput(String(r.id), String(r.txid), p.commitTime)),
      });
    }
  }
  return out;
}
