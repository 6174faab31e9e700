// Where a replay page comes from, chosen page by page: the ring of recent feed batches
// when it holds every change after the page's start; else the shared change log when its
// current stream holds the change right after it; else the outbox. Pages from memory
// or the log hold exactly what the outbox's page query would pick (pick.ts); a log that
// fails (Redis away) costs that page an outbox read, never the replay.
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
import { PageBuilder, pickedBySql } from './pick';
import { readPage, type PageQuery } from './reader';
import type { ReplayRing } from './ring';

/** The shared change log as replay reads it (`ChangeLog` of @realtime/changelog). */
export interface ReplayLog {
  current(): Promise<string | null>;
  range(key: string, afterSeq: number, count: number): Promise<LoggedChange[]>;
}

export type ReplaySource = 'ring' | 'redis' | 'postgres';

/** The outbox's change at a replay's head: its seq and fingerprint (null when no row has that seq). */
export interface LogAnchor {
  seq: number;
  fp: string | null;
}

/** How long a replay waits for the log to reach its head (it trails the outbox by an append) before it reads the outbox. */
export const ANCHOR_WAIT_MS = 250;

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
}

export class PageSources {
  /** Replay pages served, by where they came from (for /status). */
  readonly counts: Record<ReplaySource, number> = { ring: 0, redis: 0, postgres: 0 };

  constructor(private readonly opts: PageSourceOptions) {}

  /** The page reader of one replay: the log's stream is checked against `anchor` once, at its first page. */
  replay(anchor: LogAnchor): (q: PageQuery) => Promise<SourcedPage> {
    let key: Promise<string | null> | null = null;
    const logKey = () => (key ??= this.anchoredKey(anchor));
    return async (q) => {
      const page = this.fromMemory(q) ?? (await this.fromLog(q, logKey)) ?? (await this.fromOutbox(q));
      this.counts[page.source]++;
      metrics.replaySourceTotal.inc({ source: page.source });
      return page;
    };
  }

  /**
   * The current stream, when its entry at the anchor's seq is the outbox's change there
   * (waiting up to ANCHOR_WAIT_MS for the log to reach it); null otherwise: the replay
   * reads the outbox.
   */
  private async anchoredKey(anchor: LogAnchor): Promise<string | null> {
    const changeLog = this.opts.changeLog;
    if (!changeLog || anchor.fp === null || anchor.seq <= 0) return null;
    try {
      const key = await changeLog.current();
      if (key === null) return null;
      const until = Date.now() + ANCHOR_WAIT_MS;
      for (;;) {
        const [at] = await changeLog.range(key, anchor.seq - 1, 1);
        if (at && at.seq === anchor.seq) {
          if (at.fp === anchor.fp) return key;
          this.opts.notes.once(
            'replay-log-history',
            { key, seq: anchor.seq, log: at.fp, outbox: anchor.fp },
            'the change log holds another change than the outbox at a replay\'s head (a restored or replaced database whose new history the replicator leader has not opened yet): the replay reads the outbox (further ones this minute are not logged)',
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
    return { ...ring.slice(q.after, q.upTo, q.limit, q.maxBytes, (c) => pickedBySql(c, q)), source: 'ring' };
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
      const b = new PageBuilder<LoggedChange>(q, (c) => pickedBySql(c, q));
      for (;;) {
        const run = await changeLog.range(key, b.next - 1, q.limit);
        // Dense from after + 1 or not used: a stream that starts later lacks what the SQL would read.
        if (run.length === 0 || run[0]!.seq !== b.next) break;
        let open = true;
        for (const c of run) {
          if (c.seq !== b.next) break;
          if (!(open = b.offer(c))) break;
        }
        if (!open || b.done || run.length < q.limit || run[run.length - 1]!.seq !== b.next - 1) break;
      }
      const page = b.page();
      if (page.through === q.after) return null;
      return { changes: page.changes, more: page.more, through: page.through, source: 'redis' };
    } catch (err) {
      this.opts.notes.once('replay-log', { err }, 'reading a replay page from the change log failed (Redis away?): the page is read from the outbox (further failures this minute are not logged)');
      return null;
    }
  }

  private async fromOutbox(q: PageQuery): Promise<SourcedPage> {
    const page = await readPage(this.opts.replayPool, q);
    const last = page.changes[page.changes.length - 1];
    // More means the page stopped at its last change; otherwise the range is done.
    const through = page.more && last ? last.seq : q.upTo;
    return { changes: page.changes, more: page.more && last !== undefined, through, source: 'postgres' };
  }
}
