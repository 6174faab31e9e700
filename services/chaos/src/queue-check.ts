// The checker's rule for writes made through the durable write queue, pure: the outbox
// says how many times each write was applied, whatever the queue believes.
import type { ChangeOp as Op } from '@realtime/protocol';

/**
 * Writes made through the durable write queue. Each write carries a marker of its own:
 * a create its row's new id (and a name), an update a name no other write sets, a delete
 * the id of a row no other delete of that client names. So the outbox rows a write
 * produced are found by its client's actor and its marker alone, whatever the queue did.
 */
export type WriteKind = 'create' | 'update' | 'delete';

/**
 * What the queue said of a write at the end: `succeeded` (sent or confirmed: applied, the
 * answer said so), `refused` (failed: 4xx), `dropped` (a conflict resolved by taking
 * theirs), `pending` (still queued, on the wire or in conflict after the drain).
 */
export type QueueOutcome = 'succeeded' | 'refused' | 'dropped' | 'pending';

export interface IntendedWrite {
  /** The queue entry's id, also its Idempotency-Key. */
  id: string;
  kind: WriteKind;
  rowId: string;
  /** The name a create or update writes; null for a delete. */
  marker: string | null;
  /** The outbox's actor for this client's writes (the user's email, which the API sets). */
  actor: string;
  outcome: QueueOutcome;
  /** A refusal's HTTP status. */
  status?: number;
  /** The transaction the answer named (Realtime-Txid). */
  txid?: string;
}

/** An outbox row of a queue client's actor, reduced to what identifies the write that made it. */
export interface QueueOutboxRow {
  op: Op;
  rowId: string;
  /** new_row's name (null for a DELETE). */
  name: string | null;
  actor: string | null;
  txid: string;
}

export interface QueueFindings {
  intended: number;
  byKind: Record<WriteKind, number>;
  /** Succeeded and in the outbox exactly once. */
  appliedOnce: number;
  /** In the outbox more than once, whatever the queue said. */
  twice: number;
  /** Succeeded, yet not in the outbox. */
  lost: number;
  /** Refused or dropped, and not in the outbox. */
  refused: number;
  /** Refused or dropped, yet in the outbox. */
  refusedApplied: number;
  /** Still pending after the drain (applied at most once, but a healthy network should have settled it). */
  unsettled: number;
  /** Applied once, but under another transaction than the answer named. */
  txidDiffering: number;
  /** Outbox rows of a queue client that no intended write accounts for. */
  unintended: number;
  /** Refusals by status (`dropped` for a conflict resolved by taking theirs). */
  refusals: Record<string, number>;
  problems: string[];
}

const queueKey = (op: Op, actor: string | null, id: string) => `${op} ${actor ?? ''} ${id}`;

/**
 * Every write the queue was given against what the outbox holds: a write that succeeded
 * is there exactly once (a create as one INSERT of its row, an update as one UPDATE
 * carrying its marker, a delete as one DELETE of its row), with the answer's txid; a
 * refused or dropped one not at all; none twice; nothing of those clients (`actors`)
 * unaccounted for. Rows of other actors (the SQL writers, cascades) are not theirs.
 */
export function checkQueueWrites(intended: readonly IntendedWrite[], outbox: readonly QueueOutboxRow[], actors: readonly string[]): QueueFindings {
  const f: QueueFindings = {
    intended: intended.length,
    byKind: { create: 0, update: 0, delete: 0 },
    appliedOnce: 0,
    twice: 0,
    lost: 0,
    refused: 0,
    refusedApplied: 0,
    unsettled: 0,
    txidDiffering: 0,
    unintended: 0,
    refusals: {},
    problems: [],
  };
  const byKey = new Map<string, QueueOutboxRow[]>();
  const clients = new Set(actors);
  for (const row of outbox) {
    if (row.actor === null || !clients.has(row.actor)) continue;
    // An UPDATE is the write that set its name; an INSERT or DELETE, the one of its row.
    const id = row.op === 'UPDATE' ? row.name : row.rowId;
    if (id === null) continue;
    const k = queueKey(row.op, row.actor, id);
    const list = byKey.get(k);
    if (list) list.push(row);
    else byKey.set(k, [row]);
  }
  const used = new Set<string>();
  const op: Record<WriteKind, Op> = { create: 'INSERT', update: 'UPDATE', delete: 'DELETE' };
  for (const w of intended) {
    f.byKind[w.kind]++;
    const k = queueKey(op[w.kind], w.actor, w.kind === 'update' ? (w.marker ?? '') : w.rowId);
    used.add(k);
    const rows = byKey.get(k) ?? [];
    const what = `${w.kind} ${w.id} of row ${w.rowId}${w.marker && w.kind === 'update' ? ` (${w.marker})` : ''} by ${w.actor}`;
    if (rows.length > 1) {
      f.twice++;
      f.problems.push(`${what}: applied ${rows.length} times (txids ${rows.map((r) => r.txid).join(', ')}); the queue says ${w.outcome}`);
    }
    if (w.kind === 'create' && rows.length > 0 && w.marker !== null && rows.some((r) => r.name !== w.marker)) f.problems.push(`${what}: its INSERT carries name ${rows[0]!.name}, not ${w.marker}`);
    switch (w.outcome) {
      case 'succeeded':
        if (rows.length === 0) {
          f.lost++;
          f.problems.push(`${what}: the queue says it succeeded (txid ${w.txid ?? 'none'}), but the outbox has no ${op[w.kind]} of it`);
        } else if (rows.length === 1) {
          f.appliedOnce++;
          if (w.txid !== undefined && rows[0]!.txid !== w.txid) {
            f.txidDiffering++;
            f.problems.push(`${what}: answered with txid ${w.txid}, but written by transaction ${rows[0]!.txid}`);
          }
        }
        break;
      case 'refused':
      case 'dropped': {
        const reason = w.outcome === 'dropped' ? 'dropped' : String(w.status ?? 'unknown');
        f.refusals[reason] = (f.refusals[reason] ?? 0) + 1;
        if (rows.length === 0) f.refused++;
        else {
          f.refusedApplied++;
          f.problems.push(`${what}: the queue says ${w.outcome === 'dropped' ? 'it was dropped (conflict, theirs taken)' : `it was refused (${reason})`}, but the outbox has it (txid ${rows[0]!.txid})`);
        }
        break;
      }
      case 'pending':
        f.unsettled++;
        f.problems.push(`${what}: still pending after the drain`);
        break;
    }
  }
  for (const [k, rows] of byKey) {
    if (used.has(k)) continue;
    f.unintended += rows.length;
    f.problems.push(`outbox ${rows[0]!.op} of row ${rows[0]!.rowId} by ${rows[0]!.actor} (txid ${rows[0]!.txid}): no write of the queue accounts for it`);
  }
  return f;
}
