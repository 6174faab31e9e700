// The live feed of one gateway process: every stamped change, once, in seq order. It
// reads the stamped outbox by seq after each wake-up (the replicator's NOTIFY, or its
// in-process callback, whose rows are used directly when they follow on), plus a
// safety poll. Only a contiguous run of seqs is handed on: batches commit in order.
//
// With a shared change log (Redis Streams, REDIS_URL), the log is the feed: a blocking
// read from the feed's position. Postgres is then read only for what the log does not
// bring: a gap (a log started after the position, trimmed, or emptied), or a head the
// log has not delivered within `logLagMs` of the outbox showing it (a paused or lagging
// Redis). A NOTIFY or a poll then costs one head lookup, not a read of rows, so G
// gateways on one log read the outbox about as much as one. A stream is followed only
// once its last entry is shown to be the outbox's change (log-anchor.ts): a stream left
// from before a restore is never the feed.
import pg from 'pg';
import client from 'prom-client';
import { HEAD_SQL, STAMPED_CHANNEL, fingerprint, fingerprintInputSql, openListener, type ChangeOp, type StampedChange } from '@realtime/db';
import type { Logger } from '@realtime/runtime';
import { checkStream } from './log-anchor';
import { OwedHeads } from './owed-heads';

export interface FeedChange {
  seq: number;
  table: string;
  op: ChangeOp;
  newRow: Record<string, unknown> | null;
  oldRow: Record<string, unknown> | null;
  txid: string;
  committedAt: string;
  /** About how many bytes its rows take (captured with the change): what holding it costs. */
  rowBytes: number;
  /** The fingerprint of its position (id, txid, commit time; `fingerprint` in @realtime/db). */
  fp: string;
  /** When this gateway got it (ms), for the fan-out latency. */
  fedAt?: number;
}

export type FeedListener = (batch: FeedChange[]) => void;

/** A stamped change as the shared log holds it (`LogChange` of @realtime/changelog). */
export type LoggedChange = Omit<FeedChange, 'fedAt'>;

/**
 * The shared change log as the feed reads it (`ChangeLog` of @realtime/changelog): the key
 * of the current history's stream, and a blocking read after a seq.
 */
export interface LogSource {
  /** Opens its connections; may be called again after it failed (Redis down at start). */
  connect(): Promise<void>;
  current(): Promise<string | null>;
  /** The seq and fingerprint of the stream's last entry, null when it has none. */
  lastOf(key: string): Promise<{ seq: number; fp: string } | null>;
  read(key: string, afterSeq: number, opts: { blockMs: number; count: number }): Promise<LoggedChange[]>;
}

/** Where the feed's batches came from: the shared log, the outbox, or a replicator in this process. */
export type FeedSource = 'log' | 'postgres' | 'process';

const feedChanges = new client.Counter({ name: 'realtime_feed_changes_total', help: 'Changes handed on by the live feed, by where they came from (log: the shared Redis log; postgres: read from the outbox; process: a replicator in this process).', labelNames: ['source'] });
const feedFromLog = new client.Gauge({ name: 'realtime_feed_from_log', help: '1 while the shared change log feeds this gateway, 0 while the outbox does (no REDIS_URL, or Redis away or empty).' });
const feedFallbacks = new client.Counter({ name: 'realtime_feed_log_fallbacks_total', help: 'Reads of the outbox because the shared log had a gap, had not delivered what the outbox showed (lag), or held another history than the outbox (history), by reason.', labelNames: ['reason'] });

/**
 * A source of stamped changes in the same process (a replicator on this thread or in a
 * worker): every stamped batch in seq order, with the head it reaches. The replicator
 * satisfies it as it is; the gateway knows nothing else of it.
 */
export interface StampSource {
  onStamped(fn: (changes: StampedChange[], head: number) => void): () => void;
}

export interface FeedOptions {
  pool: pg.Pool;
  /** Direct connection for LISTEN (not through PgBouncer). */
  directUrl: string;
  log: Logger;
  /** In the same process as the replicator (on this thread or a worker): take its rows without a database round trip. */
  replicator?: StampSource;
  /** The shared change log: the live feed comes from it, Postgres fills what it lacks. */
  changeLog?: LogSource;
  /** How long the log may trail the outbox's head before the outbox is read instead (default 500 ms). */
  logLagMs?: number;
  /** How long one blocking read of the log waits (default 1000 ms): also how often `current` is looked up. */
  logBlockMs?: number;
  pollMs?: number;
  pageSize?: number;
}

/**
 * committed_at as the ISO text clients get (UTC, milliseconds cut as the driver would
 * cut them), made by Postgres: parsing a Date per row and printing it again was a tenth
 * of a replay's time.
 */
export const COMMITTED_AT_ISO = `to_char(committed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** What a stamped change's fingerprint is made of, as a column of the feed's and replay's reads. */
export const FP_INPUT = fingerprintInputSql();
const COLUMNS = `seq, table_name, op, new_row, old_row, txid::text AS txid, ${COMMITTED_AT_ISO} AS committed_at, row_bytes, ${FP_INPUT} AS fp_input`;

export function toFeedChange(r: { seq: string | number; table_name: string; op: FeedChange['op']; new_row: FeedChange['newRow']; old_row: FeedChange['oldRow']; txid: string; committed_at: Date | string; row_bytes?: number; fp_input: string }): FeedChange {
  const committedAt = typeof r.committed_at === 'string' ? r.committed_at : r.committed_at.toISOString();
  return { seq: Number(r.seq), table: r.table_name, op: r.op, newRow: r.new_row, oldRow: r.old_row, txid: r.txid, committedAt, rowBytes: r.row_bytes ?? 0, fp: fingerprint(r.fp_input) };
}

/**
 * What of a batch (ascending seqs) goes on after `head`: seqs at or below it were handed
 * on already (by the other path, in-process or read), then only a run without a gap.
 */
export function followOn<T extends { seq: number }>(batch: T[], head: number): T[] {
  let from = 0;
  while (from < batch.length && batch[from]!.seq <= head) from++;
  let run = 0;
  while (from + run < batch.length && batch[from + run]!.seq === head + 1 + run) run++;
  return from === 0 && run === batch.length ? batch : batch.slice(from, from + run);
}

/** With the log up and the NOTIFY heard, one safety poll in this many looks at the head. */
export const LOG_POLL_EVERY = 10;

export class Feed {
  private head = 0;
  private readonly listeners = new Set<FeedListener>();
  private listener: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private detach: (() => void) | null = null;
  private readonly log: Logger;
  /** The shared log answers and follows on: NOTIFYs and polls look at the head instead of reading rows. */
  private logUp = false;
  /** Heads the outbox showed that the feed has not handed on yet, each with when it showed. */
  private readonly owed: OwedHeads;
  private lagTimer: NodeJS.Timeout | null = null;
  private readonly batchesBySource: Record<FeedSource, number> = { log: 0, postgres: 0, process: 0 };
  /** Safety polls with the log up, and the head lookups they made. */
  private polls = 0;
  private headLooks = 0;

  constructor(private readonly opts: FeedOptions) {
    this.log = opts.log.child({ component: 'feed' });
    this.owed = new OwedHeads(opts.logLagMs ?? 500);
  }

  /** Whether the shared log is the feed right now (false without one, or while it is away). */
  get onLog(): boolean {
    return this.logUp;
  }

  /** Batches handed on, by where they came from. */
  get sources(): Readonly<Record<FeedSource, number>> {
    return this.batchesBySource;
  }

  /** Safety polls made while the log was up, and how many of them looked at the outbox's head. */
  get logPolls(): { polls: number; headLooks: number } {
    return { polls: this.polls, headLooks: this.headLooks };
  }

  /** The highest seq handed to listeners. */
  get position(): number {
    return this.head;
  }

  onChanges(fn: FeedListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * True once the feed has handed out `seq`; false after `ms`, or at a batch after `gone()`
   * answers true. Waits on the feed itself: a resume from a position a moment ahead of
   * this gateway costs the database nothing while it waits.
   */
  reached(seq: number, ms: number, gone: () => boolean = () => false): Promise<boolean> {
    if (this.head >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        off();
        resolve(v);
      };
      const off = this.onChanges(() => {
        if (this.head >= seq) done(true);
        else if (gone()) done(false);
      });
      const timer = setTimeout(() => done(this.head >= seq), ms);
    });
  }

  async start(): Promise<void> {
    const { rows } = await this.opts.pool.query<{ head: string | null }>(`SELECT ${HEAD_SQL} AS head`);
    this.head = Number(rows[0]?.head ?? 0);
    if (this.opts.replicator) {
      this.detach = this.opts.replicator.onStamped((changes) => this.fromProcess(changes));
    }
    await this.listen().catch((err: unknown) => this.log.warn({ err }, 'could not LISTEN for stamps; polling until it works'));
    this.timer = setInterval(() => this.poll(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    if (this.opts.changeLog) void this.followLog(this.opts.changeLog);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.detach?.();
    if (this.timer) clearInterval(this.timer);
    if (this.lagTimer) clearTimeout(this.lagTimer);
    this.owed.clear();
    // The log's loop is not waited for: a frozen Redis would hold its read (and this stop)
    // for as long as it stays frozen. It ends by itself, handing nothing on once stopped,
    // and whoever made the log closes it.
    await this.running;
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
  }

  /** Read whatever was stamped since the last position. */
  wake(): void {
    if (this.stopped) return;
    if (!this.listener && !this.opts.replicator) void this.listen().catch(() => undefined);
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.catchUp()
      .catch((err: unknown) => this.log.warn({ err }, 'reading stamped changes failed; the next wake-up retries'))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async listen(): Promise<void> {
    if (this.listener || this.stopped) return;
    const c = await openListener({
      url: this.opts.directUrl,
      channel: STAMPED_CHANNEL,
      applicationName: 'realtime-gateway-listen',
      // The payload is the stamped head: already handed on (the in-process path usually
      // comes first), there is nothing to read.
      onNotify: (payload) => {
        const head = Number(payload);
        if (Number.isFinite(head) && head > 0 && head <= this.head) return;
        if (this.logUp && Number.isFinite(head) && head > 0) this.expect(head);
        else this.wake();
      },
      onLost: (err, lost) => {
        this.log.warn({ err }, 'LISTEN connection lost; the safety poll covers until it is back');
        if (this.listener === lost) this.listener = null;
      },
    });
    this.listener = c;
    this.wake();
  }

  /**
   * The safety poll: without the log, a read. With the log up, a look at the head (the
   * log has `logLagMs` to deliver up to it), and only every LOG_POLL_EVERY polls while the
   * stamps' NOTIFY is heard: each NOTIFY is such a look already, without a statement, so
   * the poll covers only a NOTIFY lost on a connection that seems up. Every gateway on
   * one log pays for its polls, and under writes a look at the head reads the unstamped
   * rows' index entries too.
   */
  private poll(): void {
    if (this.stopped) return;
    if (!this.logUp) {
      this.wake();
      return;
    }
    if (!this.listener && !this.opts.replicator) void this.listen().catch(() => undefined);
    this.polls++;
    if (this.listener && this.polls % LOG_POLL_EVERY !== 0) return;
    this.headLooks++;
    void this.opts.pool
      .query<{ head: string | null }>(`SELECT ${HEAD_SQL} AS head`)
      .then(({ rows }) => this.expect(Number(rows[0]?.head ?? 0)))
      .catch((err: unknown) => this.log.warn({ err }, 'looking up the outbox head failed; the next poll retries'));
  }

  /**
   * The outbox shows `head`: the log has `logLagMs` to deliver up to it, after which the
   * outbox is read (a paused or lagging Redis delays changes by that much, never more).
   */
  private expect(head: number): void {
    if (head <= this.head || this.stopped) return;
    if (!this.logUp) {
      this.wake();
      return;
    }
    this.owed.owe(head, Date.now(), this.head);
    this.checkLagAtDue();
  }

  /** At the oldest owed head's due time: the outbox is read if the log has still not delivered it. */
  private checkLagAtDue(): void {
    const due = this.owed.due;
    if (this.lagTimer || due === null || this.stopped) return;
    this.lagTimer = setTimeout(
      () => {
        this.lagTimer = null;
        if (this.stopped) return;
        if (this.owed.overdue(Date.now(), this.head)) {
          feedFallbacks.inc({ reason: 'lag' });
          this.wake();
        }
        this.checkLagAtDue();
      },
      Math.max(0, due - Date.now()),
    );
    this.lagTimer.unref();
  }

  /** Reads the log from the feed's position for as long as the feed runs; the outbox covers while it is away. */
  private async followLog(changeLog: LogSource): Promise<void> {
    const blockMs = this.opts.logBlockMs ?? 1000;
    let failures = 0;
    let connected = false;
    /** The stream shown to be the outbox's history, and the last one shown not to be. */
    let trusted: string | null = null;
    let refused: string | null = null;
    while (!this.stopped) {
      try {
        if (!connected) {
          await changeLog.connect();
          connected = true;
        }
        const key = await changeLog.current();
        if (this.stopped) return;
        if (key === null) {
          // No history in the log yet (a Redis just started, or emptied): the outbox feeds.
          this.setLogUp(false, 'the change log has no current stream yet');
          await this.pause(blockMs);
          continue;
        }
        if (key !== trusted) {
          // Histories never meet again: a stream refused stays refused until `current` moves.
          const verdict = key === refused ? 'other' : await checkStream(changeLog, this.opts.pool, key, blockMs, () => this.stopped);
          if (this.stopped) return;
          if (verdict !== 'same') {
            if (verdict === 'other' && refused !== key) {
              refused = key;
              feedFallbacks.inc({ reason: 'history' });
              this.log.warn({ key }, "the change log's current stream is not the outbox's history (a restored or replaced database whose new history the replicator leader has not opened yet): the live feed reads the outbox until the leader opens the new stream");
            }
            this.setLogUp(false, verdict === 'other' ? 'the current stream is another history' : 'the current stream is not proven yet');
            await this.pause(blockMs);
            continue;
          }
          trusted = key;
        }
        const changes = await changeLog.read(key, this.head, { blockMs, count: this.opts.pageSize ?? 2000 });
        if (failures > 0) this.log.info({ key }, 'the change log answers again: the live feed comes from it');
        failures = 0;
        this.setLogUp(true);
        if (changes.length > 0) this.fromLog(changes);
      } catch (err) {
        if (this.stopped) return;
        if (failures++ === 0) this.log.warn({ err }, 'the change log is unreachable: the live feed reads the outbox until it is back');
        this.setLogUp(false, 'unreachable');
        await this.pause(Math.min(100 * 2 ** failures, 2000));
      }
    }
  }

  private setLogUp(up: boolean, why?: string): void {
    if (this.logUp === up) return;
    this.logUp = up;
    feedFromLog.set(up ? 1 : 0);
    // Back to the outbox: whatever the log owed is read now.
    if (!up) {
      this.log.debug({ why }, 'live feed from the outbox');
      this.owed.clear();
      this.wake();
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }

  private fromLog(changes: LoggedChange[]): void {
    if (this.stopped) return;
    const first = changes[0]!;
    if (first.seq > this.head + 1) {
      // The log starts after the position (trimmed, emptied, or a new stream): the gap from the outbox.
      feedFallbacks.inc({ reason: 'gap' });
      this.wake();
      return;
    }
    this.emit(changes as FeedChange[], 'log');
  }

  private fromProcess(changes: StampedChange[]): void {
    const first = changes[0];
    if (!first) return;
    // Taken straight from the replicator whenever it follows on, even while a read of the
    // outbox is under way (that read's copies are skipped by seq); a gap is filled by a read.
    if (first.seq > this.head + 1) {
      this.wake();
      return;
    }
    this.emit(
      changes.map((c) => ({ seq: c.seq, table: c.table, op: c.op, newRow: c.newRow, oldRow: c.oldRow, txid: c.txid, committedAt: c.committedAt, rowBytes: c.rowBytes, fp: c.fp })),
      'process',
    );
    // A change the replicator could not hand over (its worker thread could not clone it)
    // leaves a gap inside the batch: what follows it is read from the outbox.
    if (changes[changes.length - 1]!.seq > this.head) this.wake();
  }

  private emit(batch: FeedChange[], source: FeedSource): void {
    const contiguous = followOn(batch, this.head);
    if (contiguous.length === 0) return;
    this.head = contiguous[contiguous.length - 1]!.seq;
    this.batchesBySource[source]++;
    feedChanges.inc({ source }, contiguous.length);
    const now = Date.now();
    for (const c of contiguous) c.fedAt = now;
    for (const fn of this.listeners) {
      try {
        fn(contiguous);
      } catch (err) {
        this.log.error({ err }, 'a feed listener threw; the feed goes on');
      }
    }
  }

  private async catchUp(): Promise<void> {
    const limit = this.opts.pageSize ?? 2000;
    for (;;) {
      const { rows } = await this.opts.pool.query(`SELECT ${COLUMNS} FROM change_outbox WHERE seq > $1 ORDER BY seq LIMIT $2`, [this.head, limit]);
      const before = this.head;
      this.emit(rows.map(toFeedChange), 'postgres');
      if (rows.length < limit || this.head === before || this.stopped) return;
    }
  }
}
