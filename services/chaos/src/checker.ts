// The checker's rules, pure. What a subscriber received is compared with what the
// outbox says it should have received; who may receive what, with the membership history
// the outbox itself records; a cache with a fresh read of the database; the outbox's seqs
// with 1..N. Each rule counts its failures and names the first one, so that a failing run
// says where to look.

import type { ChangeOp as Op } from '@realtime/protocol';

export type { Op };

export interface Findings {
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Received but not theirs: outside the filter, or already in the list it started from. */
  unexpected: number;
  /** Received by a user who was not a member of the row's project at the change's seq. */
  unauthorized: number;
  /** The first problem, in words, or null. */
  first: string | null;
}

export const noFindings = (): Findings => ({ lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0, unauthorized: 0, first: null });

export function addFindings(a: Findings, b: Findings): Findings {
  return {
    lost: a.lost + b.lost,
    duplicated: a.duplicated + b.duplicated,
    outOfOrder: a.outOfOrder + b.outOfOrder,
    unexpected: a.unexpected + b.unexpected,
    unauthorized: a.unauthorized + b.unauthorized,
    first: a.first ?? b.first,
  };
}

/** One change as a subscriber got it: its seq and the projects of the rows it carried. */
export interface Delivery {
  seq: number;
  projects: string[];
}

/** Was the subscriber allowed to see a row of `project` at `seq`? null: a service token, allowed everything. */
export type MemberAt = ((project: string, seq: number) => boolean) | null;

/**
 * One subscription's life, from its start (a seq or a list's cursor) to its end: a
 * `resync` or a refusal (`complete` false: only what came before its last change is
 * owed) or the end of the run (`complete` true: every expected seq is owed). `expected`
 * is ascending. A delivery of a project the user was not a member of at its seq is
 * unauthorized (and not counted again as unexpected).
 */
export function checkDelivery(received: readonly Delivery[], expected: readonly number[], complete: boolean, label = 'subscription', member: MemberAt = null): Findings {
  const f = noFindings();
  const note = (text: string) => (f.first ??= `${label}: ${text}`);
  const want = new Set(expected);
  const seen = new Set<number>();
  for (let i = 0; i < received.length; i++) {
    const { seq: s, projects } = received[i]!;
    const foreign = member ? projects.find((p) => !member(p, s)) : undefined;
    if (foreign !== undefined) {
      f.unauthorized++;
      note(`seq ${s} received, a row of project ${foreign}, which the user was not a member of at that seq`);
    } else if (seen.has(s)) {
      f.duplicated++;
      note(`seq ${s} received again`);
    } else if (!want.has(s)) {
      f.unexpected++;
      note(`seq ${s} received but not expected`);
    }
    if (i > 0 && s < received[i - 1]!.seq) {
      f.outOfOrder++;
      note(`seq ${s} received after seq ${received[i - 1]!.seq}`);
    }
    seen.add(s);
  }
  const upTo = complete ? Number.POSITIVE_INFINITY : Math.max(0, ...received.map((d) => d.seq));
  for (const s of expected) {
    if (s > upTo) break;
    if (!seen.has(s)) {
      f.lost++;
      note(`seq ${s} never received${complete ? '' : ` (before ${upTo})`}`);
    }
  }
  return f;
}

/**
 * A fresh socket's plain live subscription (subscriber.ts, FreshSocket) owes no particular
 * seqs: it is held to authorization only. Everything it received must be the user's at
 * its seq.
 */
export function checkFresh(received: readonly Delivery[], member: MemberAt, label = 'fresh socket'): Findings {
  const f = noFindings();
  if (!member) return f;
  for (const { seq, projects } of received) {
    const foreign = projects.find((p) => !member(p, seq));
    if (foreign === undefined) continue;
    f.unauthorized++;
    f.first ??= `${label}: seq ${seq} received, a row of project ${foreign}, which the user was not a member of at that seq`;
  }
  return f;
}

/** A project_members change from the outbox, reduced to what membership needs. */
export interface MemberChange {
  seq: number;
  op: Op;
  userId: string;
  projectId: string;
}

/** Per user, per project: the seqs at which a membership began (true) or ended (false), ascending. */
export type Memberships = Map<string, Map<string, { seq: number; member: boolean }[]>>;

/** The membership history of every user, from the outbox's project_members changes in any order. */
export function membershipHistory(changes: readonly MemberChange[]): Memberships {
  const h: Memberships = new Map();
  for (const c of [...changes].sort((a, b) => a.seq - b.seq)) {
    let byProject = h.get(c.userId);
    if (!byProject) h.set(c.userId, (byProject = new Map()));
    let list = byProject.get(c.projectId);
    if (!list) byProject.set(c.projectId, (list = []));
    // A change of role (UPDATE) keeps the membership; only DELETE ends it.
    list.push({ seq: c.seq, member: c.op !== 'DELETE' });
  }
  return h;
}

/** Was the user a member of the project at `seq`? The last change at or before it says. */
export function isMember(h: Memberships, userId: string, projectId: string, seq: number): boolean {
  const list = h.get(userId)?.get(projectId);
  let member = false;
  for (const e of list ?? []) {
    if (e.seq > seq) break;
    member = e.member;
  }
  return member;
}

/** The seq of the last grant, role change or revocation of this user in this project (0: none). */
export function lastMembershipChange(h: Memberships, userId: string, projectId: string): number {
  return h.get(userId)?.get(projectId)?.at(-1)?.seq ?? 0;
}

/**
 * A list's stream cursor (base64url JSON from the API, then `.` and its signature, which
 * the gateway checks and the checker need not): the head seq it was read at and its snapshot.
 */
export function readCursor(cursor: string): { head: number; snapshot: string } {
  const c = JSON.parse(Buffer.from(cursor.split('.')[0]!, 'base64url').toString('utf8')) as { h?: unknown; s?: unknown };
  if (typeof c.h !== 'number' || typeof c.s !== 'string') throw new Error(`not a list cursor of the API: ${cursor.slice(0, 40)}`);
  return { head: c.h, snapshot: c.s };
}

/** The columns of an outbox row the checker reads (the project column and the filter columns), as text. */
export type Cols = Record<string, string | null>;

export interface OutboxChange {
  seq: number;
  table: string;
  op: Op;
  old: Cols | null;
  new: Cols | null;
}

/** Where an epoch starts: every seq after `after` is owed except those its list already held (`inList`). */
export interface EpochFrom {
  after: number;
  inList: ReadonlySet<number>;
}

/** A streamed table as the catalog names it: its rows' project is in `projectColumn` (null: no project). */
export interface Channel {
  name: string;
  projectColumn: string | null;
}

/**
 * What one epoch of a subscriber is owed, ascending: changes of its channel after its
 * start that its filter and its grant let through, as the gateway routes them: a row
 * that leaves what it may see arrives as a DELETE, one that enters as an INSERT. The
 * grant is membership at the change's own seq (`member`), or everything for a service token.
 */
export function owed(changes: readonly OutboxChange[], channel: Channel, filter: Record<string, string>, from: EpochFrom, member: MemberAt): number[] {
  const column = channel.projectColumn;
  const out: number[] = [];
  for (const c of changes) {
    if (c.table !== channel.name || c.seq <= from.after || from.inList.has(c.seq)) continue;
    const sees = (row: Cols | null) => {
      if (!row) return false;
      for (const [k, v] of Object.entries(filter)) if (row[k] !== v) return false;
      const project = column === null ? null : row[column];
      return member === null || (typeof project === 'string' && member(project, c.seq));
    };
    if ((c.op !== 'INSERT' && sees(c.old)) || (c.op !== 'DELETE' && sees(c.new))) out.push(c.seq);
  }
  return out.sort((a, b) => a - b);
}

/** The projects a delivered change carries, in the field (camelCase) of its table's project column; none without one. */
export function projectsOf(key: string | null, rows: readonly (Record<string, unknown> | null)[]): string[] {
  if (key === null) return [];
  return [...new Set(rows.flatMap((r) => (r && typeof r[key] === 'string' ? [r[key] as string] : [])))];
}

export interface CacheDiff {
  missing: number;
  extra: number;
  differing: number;
  first: string | null;
}

/** A cache (rows by id) against a fresh read of the same list. Key order does not matter. */
export function compareCache(cache: readonly Record<string, unknown>[], fresh: readonly Record<string, unknown>[], label = 'cache'): CacheDiff {
  const d: CacheDiff = { missing: 0, extra: 0, differing: 0, first: null };
  const byId = new Map(cache.map((r) => [String(r.id), r]));
  for (const row of fresh) {
    const id = String(row.id);
    const mine = byId.get(id);
    byId.delete(id);
    if (!mine) {
      d.missing++;
      d.first ??= `${label}: row ${id} is in the database but not in the cache`;
    } else if (canonical(mine) !== canonical(row)) {
      d.differing++;
      d.first ??= `${label}: row ${id} differs: cache ${canonical(mine)} database ${canonical(row)}`;
    }
  }
  for (const id of byId.keys()) {
    d.extra++;
    d.first ??= `${label}: row ${id} is in the cache but not in the database`;
  }
  return d;
}

export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

export interface OutboxFacts {
  rows: number;
  stamped: number;
  distinct: number;
  min: number | null;
  max: number | null;
}

/** Every outbox row stamped once, the seqs exactly 1..N. */
export function checkOutbox(o: OutboxFacts): string[] {
  const problems: string[] = [];
  if (o.stamped !== o.rows) problems.push(`${o.rows - o.stamped} outbox rows were never stamped`);
  if (o.distinct !== o.stamped) problems.push(`${o.stamped - o.distinct} seqs were given twice`);
  if (o.stamped > 0 && (o.min !== 1 || o.max !== o.stamped)) problems.push(`seqs run ${o.min}..${o.max} over ${o.stamped} rows: not 1..${o.stamped}`);
  return problems;
}

/**
 * The restore fault rewinds the outbox to a backup taken at head `backup`: seqs above it
 * are given again to other changes. What each subscriber's epochs are held to follows it.
 */

/** A subscriber's subscription as the restore found it (taken with the gateways down, so nothing arrives meanwhile). */
export interface AtRestore {
  /** How many epochs it had. */
  epochs: number;
  /** The last of them had ended already (a resync or a refusal, its refetch not done): no position to resume from. */
  ended: boolean;
  /** The position it resumes from: its last received seq, else its start (a list's head or a `since`). */
  position: number;
  /** Deliveries in that last epoch so far. */
  received: number;
}

/** The position a subscription resumes from: its last delivery's seq, else where it started. */
export function positionOf(start: { since: number } | { cursor: string }, received: readonly Delivery[]): number {
  const last = received.at(-1)?.seq;
  if (last !== undefined) return last;
  return 'since' in start ? start.since : readCursor(start.cursor).head;
}

/**
 * Which outbox an epoch is held to: `old` (as it was just before the restore, lost
 * changes included) for an epoch that ended before it, or that was current then at a
 * position the restore took away (`lost`: its change is not at that seq any more); `new`
 * (the outbox at the end) for one begun after, and for one that resumed across it from a
 * position both histories share (all it got before is the same in both). Without a
 * restore (`at` undefined), `new`.
 */
export function historyOf(index: number, at: AtRestore | undefined, lost: (seq: number) => boolean): 'old' | 'new' {
  if (!at || index >= at.epochs) return 'new';
  if (index < at.epochs - 1 || at.ended) return 'old';
  return lost(at.position) ? 'old' : 'new';
}

export interface RestoreSubscriber {
  label: string;
  at: AtRestore | undefined;
  /** The epoch that was current at the restore, as it is at the end. */
  then: { endedBy: string | null; received: number } | undefined;
}

export interface RestoreFindings {
  /** Subscribed at the restore at a position the restore took away. */
  beyond: number;
  /** Of those, ended with `history-changed` and nothing delivered on top. */
  resynced: number;
  /** Of those, refused (FORBIDDEN) with nothing delivered: the grant its filter needs was lost with the history. */
  refused: number;
  /**
   * Of those, another resync with nothing delivered (`membership`: a live grant or
   * revocation reached the new subscription while its resume check was still reading;
   * `slow-client`: another subscription of the socket went over the byte bound): the
   * gateway closed it first, and the client refetches all the same.
   */
  preempted: number;
  /** Subscribed at the restore at a position both histories share. */
  behind: number;
  /** Of those, resumed without `history-changed`. */
  resumed: number;
  problems: string[];
}

/**
 * Every subscriber whose position the restore took away (`lost`: a seq past the backup
 * whose change the new history does not have there) must have got `history-changed`
 * (or, its grant lost with the history, a refusal; or another resync that came first:
 * every resync is a refetch) and no change after the restore in
 * that subscription (a replay of the new history over the old cache); every one at a
 * position the histories share must have resumed without it.
 */
export function checkRestore(subs: readonly RestoreSubscriber[], lost: (seq: number) => boolean): RestoreFindings {
  const f: RestoreFindings = { beyond: 0, resynced: 0, refused: 0, preempted: 0, behind: 0, resumed: 0, problems: [] };
  for (const { label, at, then } of subs) {
    if (!at || at.epochs === 0 || at.ended || !then) continue;
    if (lost(at.position)) {
      f.beyond++;
      if (then.received !== at.received) f.problems.push(`${label}: at seq ${at.position}, which the restore took away: ${then.received - at.received} changes delivered on top after the restore`);
      else if (then.endedBy === 'history-changed') f.resynced++;
      else if (then.endedBy === 'forbidden') f.refused++;
      else if (then.endedBy !== null) f.preempted++;
      else f.problems.push(`${label}: at seq ${at.position}, which the restore took away, yet ${then.endedBy === null ? 'its subscription went on' : `it ended by ${then.endedBy}`} rather than by history-changed`);
    } else {
      f.behind++;
      if (then.endedBy === 'history-changed') f.problems.push(`${label}: at seq ${at.position}, which both histories share, yet resynced history-changed`);
      else f.resumed++;
    }
  }
  return f;
}

/** The seqs the restore took away: those of the old history (seq to its row's id) whose row in the new one is another or none. */
export function lostSeqs(old: ReadonlyMap<number, string>, now: ReadonlyMap<number, string>): Set<number> {
  const out = new Set<number>();
  for (const [seq, id] of old) if (now.get(seq) !== id) out.add(seq);
  return out;
}
