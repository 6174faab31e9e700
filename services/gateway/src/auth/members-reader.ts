// One user's membership history from the outbox, up to a seq. Retention keeps every
// project_members change, so the history is whole however old the stream is; an index on
// (user, seq) of those rows makes this one short range read.
import type pg from 'pg';
import type { ChangeOp } from '@realtime/protocol';
import { membershipEvent, type MembershipEvent } from './membership';

export async function readMemberships(pool: pg.Pool, userId: string, upTo: number): Promise<MembershipEvent[]> {
  const { rows } = await pool.query<{ seq: string; op: ChangeOp; new_row: Record<string, unknown> | null; old_row: Record<string, unknown> | null; txid: string }>(
    `SELECT seq, op, new_row, old_row, txid::text AS txid FROM change_outbox
     WHERE table_name = 'project_members' AND coalesce(new_row ->> 'user_id', old_row ->> 'user_id') = $1
       AND seq IS NOT NULL AND seq <= $2
     ORDER BY seq`,
    [userId, upTo],
  );
  const events: MembershipEvent[] = [];
  for (const r of rows) {
    const m = membershipEvent({ seq: Number(r.seq), op: r.op, newRow: r.new_row, oldRow: r.old_row, txid: r.txid });
    if (m) events.push(m.event);
  }
  return events;
}

/** The outbox's answer to grantWithNewProject: the project's INSERT follows the grant in its transaction. */
export async function grantedWithNewProject(pool: pg.Pool, event: MembershipEvent): Promise<boolean> {
  if (!event.txid || event.role === null) return false;
  const { rows } = await pool.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM change_outbox WHERE table_name = 'projects' AND row_id = $1 AND op = 'INSERT' AND txid = $2::xid8 AND seq > $3) AS ok`,
    [event.projectId, event.txid, event.seq],
  );
  return rows[0]?.ok === true;
}
