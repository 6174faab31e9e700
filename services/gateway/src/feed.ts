// The live feed of one gateway process: every stamped change, once, in seq order. It
// reads the stamped outbox by seq after each wake-up (the replicator's NOTIFY, or its
// in-process callback, whose rows are used directly when they follow on), plus a
// safety poll. Only a contiguous run of seqs is handed on: batches commit in order.
import pg from 'pg';
import { HEAD_SQL, STAMPED_CHANNEL, fingerprint, fingerprintInputSql, openListener, type ChangeOp, type StampedChange } from '@realtime/db';
import type { Logger } from '@realtime/runtime';

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

  constructor(private readonly opts: FeedOptions) {
    this.log = opts.log.child({ component: 'feed' });
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
    this.timer = setInterval(() => this.wake(), this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.detach?.();
    if (this.timer) clearInterval(this.timer);
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
        this.wake();
      },
      onLost: (err, lost) => {
        this.log.warn({ err }, 'LISTEN connection lost; the safety poll covers until it is back');
        if (this.listener === lost) this.listener = null;
      },
    });
    this.listener = c;
    this.wake();
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
    );
    // A change the replicator could not hand over (its worker thread could not clone it)
    // leaves a gap inside the batch: what follows it is read from the outbox.
    if (changes[changes.length - 1]!.seq > this.head) this.wake();
  }

  private emit(batch: FeedChange[]): void {
    const contiguous = followOn(batch, this.head);
    if (contiguous.length === 0) return;
    this.head = contiguous[contiguous.length - 1]!.seq;
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
      this.emit(rows.map(toFeedChange));
      if (rows.length < limit || this.head === before || this.stopped) return;
    }
  }
}
