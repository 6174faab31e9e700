// Reading the stamped outbox for replay: a page at a time, by seq, bounded above by the
// head read when the replay began and sized in rows and in bytes. A replay reads only
// what it may send: the changes of the projects its filter or grant names (through the
// project index, moves out of a project through the moved-from index), with the other
// filter columns compared in SQL too; routing then decides exactly, in memory.
import type pg from 'pg';
import { FLOOR_SQL, HEAD_SQL, PENDING_AT_RESUME_SQL } from '@realtime/db';
import type { Filter } from '@realtime/protocol';
import { COMMITTED_AT_ISO, toFeedChange, type FeedChange } from '../feed';
import { fingerprint, fingerprintInputSql } from '@realtime/db';
import type { Pending } from '@realtime/auth';
import { FreshReads } from './fresh-reads';

export async function readBounds(pool: pg.Pool): Promise<{ head: number; floor: number }> {
  // Both survive pruning (realtime_state.pruned_through records what went), and are the
  // same definitions the list cursors and the outbox API use.
  const { rows } = await pool.query<{ head: string; floor: string }>(`SELECT ${HEAD_SQL} AS head, ${FLOOR_SQL} AS floor`);
  return { head: Number(rows[0]?.head ?? 0), floor: Number(rows[0]?.floor ?? 0) };
}

/**
 * The bounds, once the head has reached `target` or `waitMs` has passed. A replicator in
 * this process hands the feed a whole transaction numbered before its stamp statement
 * commits, so for a few milliseconds the feed (and a client it served) can be ahead of
 * what the outbox shows; a replay must not end below what the feed already sent.
 */
export function readBoundsReaching(pool: pg.Pool | ResumeReads, target: number, waitMs: number, gone: () => boolean): Promise<{ head: number; floor: number }> {
  return untilHeadReaches(pool instanceof ResumeReads ? () => pool.bounds() : () => readBounds(pool), target, waitMs, gone);
}

/** `read` again (backing off up to 50 ms) until its head reaches `target`, `waitMs` passes, or `gone()`. */
async function untilHeadReaches<T extends { head: number }>(read: () => Promise<T>, target: number, waitMs: number, gone: () => boolean): Promise<T> {
  const until = Date.now() + waitMs;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    const r = await read();
    if (r.head >= target || Date.now() >= until || gone()) return r;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** `seq fp_input` texts, as the resume reads aggregate them, to fingerprints by seq. */
function fingerprintsOf(found: string[] | null): Map<number, string> {
  const fps = new Map<number, string>();
  for (const f of found ?? []) {
    const at = f.indexOf(' ');
    fps.set(Number(f.slice(0, at)), fingerprint(f.slice(at + 1)));
  }
  return fps;
}

export interface PageQuery {
  channel: string;
  after: number;
  upTo: number;
  /** At most this many rows... */
  limit: number;
  /** ...and rows only while those before them take less than this (at least one row). */
  maxBytes: number;
  filter?: Filter;
  /** Only changes of these projects (as text), or of every project when null. */
  projects: string[] | null;
  /** The channel's project column, which `filter` may name. */
  projectColumn: string | null;
}

/** The projects a replay may read: the filter's one (when it names the project column), else the grant's. */
export function replayScope(filter: Filter | undefined, projectColumn: string | null, granted: string[] | null): string[] | null {
  const wanted = projectColumn ? filter?.[projectColumn] : undefined;
  if (wanted === undefined || wanted === null) return granted;
  return [String(wanted)];
}

/** The SQL of one page (pure, so its shape is tested without a database). */
export function pageQuery(q: PageQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [q.after, q.upTo, q.channel, q.limit, q.maxBytes];
  const conditions: string[] = [];
  for (const [column, value] of Object.entries(q.filter ?? {})) {
    if (value === null || column === q.projectColumn) continue;
    values.push(column, String(value));
    const c = `$${values.length - 1}`;
    const v = `$${values.length}`;
    conditions.push(`(new_row ->> ${c} = ${v} OR old_row ->> ${c} = ${v})`);
  }
  const rest = conditions.map((c) => ` AND ${c}`).join('');
  const range = `table_name = $3 AND seq > $1 AND seq <= $2${rest}`;
  let picked: string;
  if (q.projects === null) {
    picked = `SELECT seq, row_bytes FROM change_outbox WHERE ${range} AND seq IS NOT NULL ORDER BY seq LIMIT $4`;
  } else {
    // One project: = keeps the index scan in seq order, so a page stops after `limit`
    // rows. Several (a user's grant): = ANY reads their rows in the range, and no others.
    values.push(q.projects.length === 1 ? q.projects[0] : q.projects);
    const p = q.projects.length === 1 ? `= $${values.length}` : `= ANY($${values.length}::text[])`;
    picked = `SELECT seq, row_bytes FROM (
        (SELECT seq, row_bytes FROM change_outbox WHERE ${range} AND seq IS NOT NULL AND project_id ${p} ORDER BY seq LIMIT $4)
        UNION
        (SELECT seq, row_bytes FROM change_outbox WHERE ${range} AND seq IS NOT NULL AND moved_from ${p} ORDER BY seq LIMIT $4)
      ) u ORDER BY seq LIMIT $4`;
  }
  return {
    // Sizes first, rows after: a row past the byte budget is never read in full.
    text: `WITH picked AS (${picked}),
      sized AS (SELECT seq, sum(row_bytes) OVER (ORDER BY seq) - row_bytes AS before FROM picked)
      SELECT c.seq, c.table_name, c.op, c.new_row, c.old_row, c.txid::text AS txid, ${COMMITTED_AT_ISO.replace('committed_at', 'c.committed_at')} AS committed_at, c.row_bytes, ${fingerprintInputSql('c')} AS fp_input,
             (SELECT count(*) FROM picked)::int AS picked
      FROM sized s JOIN change_outbox c ON c.seq = s.seq
      WHERE s.before < $5 OR s.seq = (SELECT min(seq) FROM picked)
      ORDER BY c.seq`,
    values,
  };
}

export interface Page {
  changes: FeedChange[];
  /** Whether rows may remain after this page (it was full, or cut short by the byte budget). */
  more: boolean;
}

export async function readPage(pool: pg.Pool, q: PageQuery): Promise<Page> {
  const { text, values } = pageQuery(q);
  const { rows } = await pool.query<Parameters<typeof toFeedChange>[0] & { picked: number }>(text, values);
  const picked = rows[0]?.picked ?? 0;
  return { changes: rows.map(toFeedChange), more: picked === q.limit || rows.length < picked };
}

/** How many rows are stamped in (from, head]: seqs are dense, so fewer than head - from means rows were removed. */
export async function countStamped(pool: pg.Pool, from: number, head: number): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM change_outbox WHERE seq > $1 AND seq <= $2`, [from, head]);
  return Number(rows[0]!.n);
}

/**
 * What a resume is checked by (history.ts), in one statement: the fingerprint of the
 * row stamped each of `seqs` (absent when none has it), how many rows are stamped in
 * (from, head] (null unless `countRange`: a count reads every index entry of the range),
 * and the floor as it is now (a prune may have run since the bounds).
 */
export async function readResumeCheck(
  pool: pg.Pool,
  seqs: number[],
  from: number,
  head: number,
  cursor: { headSeq: number; snapshotText: string; pending: Pending | null } | null = null,
  countRange = true,
): Promise<{ fps: Map<number, string>; inRange: number | null; floor: number; pendingDigest: string | null }> {
  const { rows } = await pool.query<{ floor: string; in_range: string | null; found: string[] | null }>(
    `SELECT ${FLOOR_SQL} AS floor,
       ${countRange ? '(SELECT count(*) FROM change_outbox WHERE seq > $2 AND seq <= $3)' : 'NULL::bigint'} AS in_range,
       (SELECT array_agg(seq::text || ' ' || ${fingerprintInputSql()}) FROM change_outbox WHERE seq = ANY($1::bigint[])) AS found`,
    countRange ? [seqs, from, head] : [seqs],
  );
  const r = rows[0]!;
  const fps = fingerprintsOf(r.found);
  let pendingDigest: string | null = null;
  if (cursor?.pending) {
    const p = await pool.query<{ digest: string | null }>(PENDING_AT_RESUME_SQL, [cursor.pending.lo, cursor.pending.hi, cursor.headSeq, cursor.snapshotText]);
    pendingDigest = p.rows[0]?.digest ?? null;
  }
  return { fps, inRange: r.in_range === null ? null : Number(r.in_range), floor: Number(r.floor), pendingDigest };
}

export type ResumeCheck = Awaited<ReturnType<typeof readResumeCheck>>;

/** The bounds, and the fingerprints of the rows stamped at `seqs` and at the head. */
export interface BoundsAndFps {
  head: number;
  floor: number;
  fps: Map<number, string>;
}

/** `readBounds` and the fingerprints a resume is checked by, in one statement. */
export async function readBoundsAndFps(pool: pg.Pool, seqs: number[]): Promise<BoundsAndFps> {
  const { rows } = await pool.query<{ head: string; floor: string; found: string[] | null }>(
    `WITH b AS (SELECT ${HEAD_SQL} AS head, ${FLOOR_SQL} AS floor)
     SELECT b.head, b.floor,
       (SELECT array_agg(seq::text || ' ' || ${fingerprintInputSql()}) FROM change_outbox WHERE seq = ANY($1::bigint[]) OR seq = b.head) AS found
     FROM b`,
    [seqs],
  );
  const r = rows[0]!;
  return { head: Number(r.head ?? 0), floor: Number(r.floor ?? 0), fps: fingerprintsOf(r.found) };
}

/**
 * The reads every resume makes before its pages, shared by the resumes asking at once
 * (fresh-reads.ts): the bounds, and the fingerprints at their positions. A check that
 * counts its range, or a cursor's pending digest, is the caller's own statement.
 */
export class ResumeReads {
  private readonly boundsReads: FreshReads<never, { head: number; floor: number }>;
  private readonly fpReads: FreshReads<number, ResumeCheck>;
  private readonly resumeReads: FreshReads<number, BoundsAndFps>;

  constructor(private readonly pool: pg.Pool) {
    // One of each at a time: every statement costs the gateway's loop a round trip, and
    // the resumes waiting meanwhile all share the next.
    this.boundsReads = new FreshReads(() => readBounds(pool));
    this.fpReads = new FreshReads((seqs) => readResumeCheck(pool, [...new Set(seqs)], 0, 0, null, false));
    this.resumeReads = new FreshReads((seqs) => readBoundsAndFps(pool, [...new Set(seqs)]));
  }

  /**
   * The bounds and the fingerprints at `seqs` and at the head, once the head has reached
   * `target` or `waitMs` has passed (as readBoundsReaching): what a resume is decided by,
   * one statement for every resume asking at the same time.
   */
  boundsAndFpsReaching(seqs: number[], target: number, waitMs: number, gone: () => boolean): Promise<BoundsAndFps> {
    return untilHeadReaches(() => this.resumeReads.ask(seqs), target, waitMs, gone);
  }

  /** Statements run for resumes, and resumes served: what sharing saved. */
  get stats(): { statements: number; asked: number } {
    const all = [this.boundsReads.stats, this.fpReads.stats, this.resumeReads.stats];
    return { statements: all.reduce((n, x) => n + x.batches, 0), asked: all.reduce((n, x) => n + x.asked, 0) };
  }

  bounds(): Promise<{ head: number; floor: number }> {
    return this.boundsReads.ask();
  }

  /** `readResumeCheck`, shared with the resumes asking at the same time unless it counts its range. */
  async check(seqs: number[], from: number, head: number, cursor: { headSeq: number; snapshotText: string; pending: Pending | null } | null, countRange: boolean): Promise<ResumeCheck> {
    if (countRange) return readResumeCheck(this.pool, seqs, from, head, cursor, true);
    const shared = await this.fpReads.ask(seqs);
    const fps = new Map<number, string>();
    for (const s of seqs) {
      const fp = shared.fps.get(s);
      if (fp !== undefined) fps.set(s, fp);
    }
    let pendingDigest: string | null = null;
    if (cursor?.pending) {
      const p = await this.pool.query<{ digest: string | null }>(PENDING_AT_RESUME_SQL, [cursor.pending.lo, cursor.pending.hi, cursor.headSeq, cursor.snapshotText]);
      pendingDigest = p.rows[0]?.digest ?? null;
    }
    return { fps, inRange: null, floor: shared.floor, pendingDigest };
  }
}
