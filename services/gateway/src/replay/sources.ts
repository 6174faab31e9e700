// Where a replay page comes from, chosen page by page: the ring of recent feed batches
// when it holds every change after the page's start; else the shared change log when its
// current stream holds the change right after it; else the outbox. Pages from memory
// or the log hold exactly what the outbox's page query would pick (pick.ts); a log that
// fails (Redis away) costs that page an outbox read, never the replay. A run read from the
// log serves, for a moment, every replay asking for the same run (a reconnect storm).
// The log serves a replay only once its stream is shown to be the outbox's history up to
// the replay's head: its entry at the head carries the fingerprint of the outbox's row
// there (the anchor). A stream is one history and histories never meet again once they
// part, so every entry at or below that head is the outbox's too. Without this, a stream
// left over from before a restore (until the replicator leader opens the new history's)
// would replay changes the restore took away.
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';
import type { FeedChange, LoggedChange } from '../feed';
import type { LimitNotes } from '../limits/notes';
import * as metrics from '../metrics';
import { candidatePositions, PageBuilder, pickerFor } from './pick';
import { readPage, type PageQuery } from './reader';
import type { ReplayRing } from './ring';

/** The shared change log as replay reads it (`ChangeLog` of @realtime/changelog). */
export interface ReplayLog {
  current(): Promise<string | null>;
  range(key: string, afterSeq: number, count: number): Promise<LoggedChange[]>;
}

export type ReplaySource = 'ring' | 'redis' | 'postgres';

export interface SourcedPage {
  changes: FeedChange[];
  /** Whether changes may remain in (through, upTo]. */
  more: boolean;
  /** Every change in (after, through] was judged: the next page starts after it. */
  through: number;
  source: ReplaySource;
}

export interface PageSourceOptions {
  replayPool: pg.Pool;
  ring?: ReplayRing<FeedChange> | undefined;
  changeLog?: ReplayLog | undefined;
  notes: LimitNotes;
  log: Logger;
  /** The clock runs read from the log are kept by (default Date.now). */
  now?: () => number;
}

/** The outbox's change at a replay's head: its seq and fingerprint (null when no row has that seq). */
export interface LogAnchor {
  seq: number;
  fp: string | null;
}

/** How long a replay waits for the log to reach its head (it trails the outbox by an append) before it reads the outbox. */
export const ANCHOR_WAIT_MS = 250;

/**
 * How long a run read from the change log is handed to other replays that ask for the
 * same run, and how many are held. A reconnect storm resumes thousands of subscriptions
 * from a few positions, for as long as the storm lasts: without this, each decoded the
 * same entries again. A stream's entries never change (another history is another
 * stream), so the bound is memory, not freshness. The one-entry looks at replays' heads
 * are held apart (SHARED_ANCHORS): a storm beside steady writes has a new head every few
 * milliseconds, and those must not push the runs out.
 */
export const SHARED_RUN_MS = 10_000;

/**
 * How long one answer to which stream is current serves the replays that ask. The name
 * only picks the stream to try: the anchor (its entry at the replay's head holds the
 * outbox's fingerprint there) is what proves it, so a name a moment stale costs a replay
 * the outbox, never a wrong page. Asked afresh for every replay, a storm kept Redis busy
 * with back-to-back GETs, each a write on the gateway's one thread.
 */
export const CURRENT_REUSE_MS = 250;
export const SHARED_RUNS = 32;
export const SHARED_ANCHORS = 256;

/** Runs of the log read lately, by stream, start and length, with when they were asked for. */
interface HeldRuns {
  held: Map<string, HeldRun>;
  max: number;
}

interface HeldRun {
  at: number;
  run: Promise<LoggedChange[]>;
  /** Once read: its last seq, and whether it holds all it was asked for. */
  reaches?: number;
  full?: boolean;
}

export class PageSources {
  /** Replay pages served, by where they came from (for /status). */
  readonly counts: Record<ReplaySource, number> = { ring: 0, redis: 0, postgres: 0 };

  private readonly runs: HeldRuns = { held: new Map(), max: SHARED_RUNS };
  private readonly anchors: HeldRuns = { held: new Map(), max: SHARED_ANCHORS };
  /** Which stream is current, as a read begun in the last CURRENT_REUSE_MS answered it. */
  private currentRead: { at: number; key: Promise<string | null> } | null = null;

  constructor(private readonly opts: PageSourceOptions) {}

  /** The current stream's key, from a read begun within CURRENT_REUSE_MS (a failed one is not kept). */
  private currentKey(changeLog: ReplayLog): Promise<string | null> {
    const now = (this.opts.now ?? Date.now)();
    const held = this.currentRead;
    if (held && now - held.at < CURRENT_REUSE_MS) return held.key;
    const read = { at: now, key: changeLog.current() };
    this.currentRead = read;
    read.key.catch(() => {
      if (this.currentRead === read) this.currentRead = null;
    });
    return read.key;
  }

  /**
   * Whether pages may come from elsewhere than the outbox (a ring that holds changes, or
   * the change log): a replay then checks the outbox's rows of its range only from its
   * first page read from the outbox (`beforeOutbox`).
   */
  get beyondOutbox(): boolean {
    return this.opts.changeLog !== undefined || this.opts.ring?.enabled === true;
  }

  /**
   * The page reader of one replay: the log's stream is checked against `anchor` once, at
   * its first page; `beforeOutbox` runs before a page is read from the outbox (and may
   * throw to stop the replay).
   */
  replay(anchor: LogAnchor, beforeOutbox?: (after: number) => Promise<void>): (q: PageQuery) => Promise<SourcedPage> {
    let key: Promise<string | null> | null = null;
    const logKey = () => (key ??= this.anchoredKey(anchor));
    return async (q) => {
      const page = this.fromMemory(q) ?? (await this.fromLog(q, logKey)) ?? (await this.fromOutbox(q, beforeOutbox));
      this.counts[page.source]++;
      metrics.replaySourceTotal.inc({ source: page.source });
      return page;
    };
  }

  /**
   * The current stream, when its entry at the anchor's seq is the outbox's change there
   * (waiting up to ANCHOR_WAIT_MS for the log to reach it); null otherwise: the replay
   * reads the outbox. The look at the head is a shared run too: a storm's replays share
   * a few heads.
   */
  private async anchoredKey(anchor: LogAnchor): Promise<string | null> {
    const changeLog = this.opts.changeLog;
    if (!changeLog || anchor.fp === null || anchor.seq <= 0) return null;
    try {
      const key = await this.currentKey(changeLog);
      if (key === null) return null;
      const until = Date.now() + ANCHOR_WAIT_MS;
      for (;;) {
        const [at] = await this.logRun(this.anchors, changeLog, key, anchor.seq - 1, 1, anchor.seq).run;
        if (at && at.seq === anchor.seq) {
          if (at.fp === anchor.fp) return key;
          this.opts.notes.once(
            'replay-log-history',
            { key, seq: anchor.seq, log: at.fp, outbox: anchor.fp },
            "the change log holds another change than the outbox at a replay's head (a restored or replaced database whose new history the replicator leader has not opened yet): the replay reads the outbox (further ones this minute are not logged)",
          );
          return null;
        }
        // Past the head already (trimmed to after it, or a new history's first page): nothing to anchor on.
        if ((at && at.seq > anchor.seq) || Date.now() >= until) return null;
        await new Promise((r) => setTimeout(r, 25));
      }
    } catch (err) {
      this.opts.notes.once('replay-log', { err }, 'reading a replay page from the change log failed (Redis away?): the page is read from the outbox (further failures this minute are not logged)');
      return null;
    }
  }

  private fromMemory(q: PageQuery): SourcedPage | null {
    const ring = this.opts.ring;
    // Covered, and holding something of the range: a ring at the page's start has
    // nothing to give while the outbox's head is ahead of the feed.
    if (!ring || !ring.covers(q.after) || ring.position <= q.after) return null;
    return { ...ring.slice(q.after, q.upTo, q.limit, q.maxBytes, pickerFor(q)), source: 'ring' };
  }

  /**
   * Reads the current stream from after + 1 in runs of `limit` until the page is complete,
   * the stream ends, or upTo. Null when the stream does not hold after + 1 (trimmed past
   * it, a new history, or not there yet): its first seq is then above after + 1.
   */
  private async fromLog(q: PageQuery, anchoredKey: () => Promise<string | null>): Promise<SourcedPage | null> {
    const changeLog = this.opts.changeLog;
    if (!changeLog) return null;
    try {
      const key = await anchoredKey();
      if (key === null) return null;
      const b = new PageBuilder<LoggedChange>(q, pickerFor(q));
      for (;;) {
        const { run: read, shared } = this.logRun(this.runs, changeLog, key, b.next - 1, q.limit, q.upTo);
        const run = await read;
        // Dense from after + 1 or not used: a stream that starts later lacks what the SQL would read.
        if (run.length === 0 || run[0]!.seq !== b.next) break;
        const open = offerRun(b, run, q);
        if (!open || b.done || run[run.length - 1]!.seq !== b.next - 1) break;
        // A short run is the stream's end when it was read. One this replay read itself
        // ends the page; a shared one (joined while it was read) may end before this
        // page's head: what follows it is asked next, itself a run others may share.
        if (run.length < q.limit && !shared) break;
      }
      const page = b.page();
      if (page.through === q.after) return null;
      return { changes: page.changes, more: page.more, through: page.through, source: 'redis' };
    } catch (err) {
      this.opts.notes.once('replay-log', { err }, 'reading a replay page from the change log failed (Redis away?): the page is read from the outbox (further failures this minute are not logged)');
      return null;
    }
  }

  /**
   * `range` of the log, shared: a stream's entry at a seq never changes (another history
   * is another stream), so a run held (for SHARED_RUN_MS at most) serves every replay
   * that asks for it, as long as it is still being read, is full (`count` entries), or
   * reaches `need` (the seq the asker reads up to). A shorter one was the stream's end
   * when it was read and is read again. An empty run or a failure is not kept: the tail
   * grows, and Redis may be back.
   */
  private logRun(runs: HeldRuns, changeLog: ReplayLog, key: string, after: number, count: number, need: number): { run: Promise<LoggedChange[]>; shared: boolean } {
    const id = `${key} ${after} ${count}`;
    const now = (this.opts.now ?? Date.now)();
    const held = runs.held.get(id);
    const fresh = held && now - held.at <= SHARED_RUN_MS;
    if (held && fresh && (held.reaches === undefined || held.full || held.reaches >= need)) return { run: held.run, shared: true };
    // Short of `need`: what follows its end is read and added to it (only the new entries
    // are decoded), and the longer run is held in its place.
    const reaches = fresh ? held.reaches : undefined;
    const run =
      held && reaches !== undefined
        ? held.run.then(async (r) => {
            const more = await changeLog.range(key, reaches, count - r.length);
            return more.length > 0 && more[0]!.seq === reaches + 1 ? r.concat(more) : r;
          })
        : changeLog.range(key, after, count);
    const entry: HeldRun = { at: now, run };
    runs.held.delete(id);
    runs.held.set(id, entry);
    const forget = () => {
      if (runs.held.get(id) === entry) runs.held.delete(id);
    };
    run.then((r) => {
      if (r.length === 0) return forget();
      entry.reaches = r[r.length - 1]!.seq;
      entry.full = r.length >= count;
    }, forget);
    // The oldest first (a Map keeps the order of insertion).
    for (const old of runs.held.keys()) {
      if (runs.held.size <= runs.max) break;
      runs.held.delete(old);
    }
    return { run, shared: false };
  }

  private async fromOutbox(q: PageQuery, before?: (after: number) => Promise<void>): Promise<SourcedPage> {
    await before?.(q.after);
    const page = await readPage(this.opts.replayPool, q);
    const last = page.changes[page.changes.length - 1];
    // More means the page stopped at its last change; otherwise the range is done.
    const through = page.more && last ? last.seq : q.upTo;
    return { changes: page.changes, more: page.more && last !== undefined, through, source: 'postgres' };
  }
}

/**
 * Offers a run of the log (starting at the page's next seq) to the page: with projects
 * named and the run dense, only the changes of those projects, the rest judged unpicked
 * by skipping; else every change in turn. False once the page takes no more.
 */
function offerRun(b: PageBuilder<LoggedChange>, run: readonly LoggedChange[], q: PageQuery): boolean {
  const first = run[0]!.seq;
  const dense = run[run.length - 1]!.seq - first === run.length - 1;
  if (dense && q.projects !== null && q.projectColumn !== null) {
    for (const i of candidatePositions(run, q.projectColumn, q.projects)) {
      if (!b.skipTo(first + i) || !b.offer(run[i]!)) return false;
    }
    return b.skipTo(first + run.length);
  }
  for (const c of run) {
    if (c.seq !== b.next) break;
    if (!b.offer(c)) return false;
  }
  return true;
}
