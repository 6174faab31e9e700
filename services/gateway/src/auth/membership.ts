// A user's project memberships as of any seq. Grants and revocations are project_members
// changes in the outbox, so each has a seq; the gateway asks "was this user a member of
// the row's project at this change's seq?" for every change it sends, live or replayed.
import type { MemberRole } from '@realtime/db/schema';
import type { ChangeOp } from '@realtime/protocol';

export interface MembershipEvent {
  seq: number;
  projectId: string;
  /** null: the membership ended at this seq. */
  role: MemberRole | null;
  /** The writing transaction, to tell a grant made with a new project (nothing to catch up on). */
  txid?: string;
}

interface RawChange {
  seq: number;
  txid?: string;
  op: ChangeOp;
  newRow: Record<string, unknown> | null;
  oldRow: Record<string, unknown> | null;
}

/** The user and the event a project_members change stands for, or null for a malformed row. */
export function membershipEvent(change: RawChange): { userId: string; event: MembershipEvent } | null {
  const row = change.newRow ?? change.oldRow;
  const userId = row?.user_id;
  const projectId = row?.project_id;
  if (typeof userId !== 'string' || typeof projectId !== 'string') return null;
  const role = change.op === 'DELETE' ? null : (change.newRow?.role as MemberRole | undefined) ?? null;
  return { userId, event: { seq: change.seq, projectId, role, ...(change.txid ? { txid: change.txid } : {}) } };
}

export class MembershipLog {
  private readonly byProject = new Map<string, MembershipEvent[]>();
  private readonly seen = new Set<number>();

  /** Adds an event once, wherever it was learned (the feed or a read of the outbox). */
  add(e: MembershipEvent): boolean {
    if (this.seen.has(e.seq)) return false;
    this.seen.add(e.seq);
    const list = this.byProject.get(e.projectId) ?? [];
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > e.seq) i--;
    list.splice(i, 0, e);
    this.byProject.set(e.projectId, list);
    return true;
  }

  /** The role at `seq` (an event at exactly `seq` counts), or null when not a member. */
  roleAt(projectId: string, seq: number): MemberRole | null {
    const list = this.byProject.get(projectId);
    if (!list) return null;
    let role: MemberRole | null = null;
    for (const e of list) {
      if (e.seq > seq) break;
      role = e.role;
    }
    return role;
  }

  /** Every project the user has been a member of at some seq: what a replay may have to send. */
  everMember(): string[] {
    const out: string[] = [];
    for (const [projectId, list] of this.byProject) if (list.some((e) => e.role !== null)) out.push(projectId);
    return out;
  }

  current(projectId: string): MemberRole | null {
    return this.roleAt(projectId, Number.POSITIVE_INFINITY);
  }

  /** True when this event made the user a member, or ended it (a change of role does not). */
  flips(e: MembershipEvent): boolean {
    return (this.roleAt(e.projectId, e.seq - 1) === null) !== (e.role === null);
  }

  /** The events in (after, upTo] that began or ended a membership, in seq order. */
  flipsBetween(after: number, upTo: number): MembershipEvent[] {
    const out: MembershipEvent[] = [];
    for (const list of this.byProject.values()) {
      for (const e of list) if (e.seq > after && e.seq <= upTo && this.flips(e)) out.push(e);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Projects whose membership began or ended in (after, upTo]. */
  flippedBetween(after: number, upTo: number): Set<string> {
    return new Set(this.flipsBetween(after, upTo).map((e) => e.projectId));
  }
}

interface BatchChange {
  seq: number;
  table: string;
  op: string;
  txid: string;
  newRow: Record<string, unknown> | null;
}

/**
 * A grant needs no catch-up when its project is created later in the same transaction
 * (the creator's ownership, made by a trigger just before the project row): every row of
 * a project comes after the project itself, so nothing of it precedes the grant. Looks at
 * the rest of the batch; not finding the project there answers false, and a resync follows.
 */
export function grantWithNewProject(batch: BatchChange[], at: number, projectId: string): boolean {
  const grant = batch[at];
  if (!grant) return false;
  for (let i = at + 1; i < batch.length && batch[i]!.txid === grant.txid; i++) {
    const c = batch[i]!;
    if (c.table === 'projects' && c.op === 'INSERT' && c.newRow?.id === projectId) return true;
  }
  return false;
}
