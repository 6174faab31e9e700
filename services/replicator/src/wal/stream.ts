// One run of the WAL stream of a leader: transactions from the slot are assembled into
// batches, each batch stamped in commit order (numbered early and delivered before its
// stamp when it may be, sequencer/early.ts), and the slot acknowledged only up to what
// is stamped and on disk. The decisions are in pacing.ts; this class is the IO and the
// state one run needs.
import type pg from 'pg';
import { PgoutputPlugin } from 'pg-logical-replication';
import type { Logger } from '@realtime/runtime';
import { BatchBuffer, type Batch } from '../sequencer/batch';
import { DurableAcks } from '../sequencer/durable';
import { earlyEligible, numberEarly } from '../sequencer/early';
import { stampPieces, walPositions, type StampResult } from '../sequencer/stamp';
import * as metrics from '../metrics';
import { setMode } from '../state';
import { forLibraryAck, formatLsn, maxLsn, parseLsn } from './lsn';
import { afterMessage, earlyMismatch, flushRoute, keepaliveAck, nextVisibilityWait } from './pacing';
import { EndSafeReplicationService, libraryIdle } from './service';
import { TransactionAssembler, type OutboxMessage } from './transactions';

/** How long a streamed transaction may stay invisible to our snapshot before we give up on the stream. */
export const VISIBILITY_WAIT_MS = 30_000;

export interface WalStreamOptions {
  /** The leader's session: stamps and mode writes, one at a time. */
  client: pg.Client;
  directUrl: string;
  slot: string;
  publication: string;
  batchSize: number;
  lingerMs: number;
  /** Stamps commit without waiting for the disk; the slot is acknowledged once they are on it. */
  asyncStamps: boolean;
  durableCheckMs: number;
  earlyDelivery: boolean;
  /** Transactions committing after this LSN may be numbered from the WAL (early.ts). */
  earlyFrom: bigint;
  /** Where the slot was acknowledged up to. */
  confirmed: bigint;
  /** The channel the stamp statement notifies other processes on. */
  stampedChannel: string;
  log: Logger;
}

/** What the stream needs of the replicator that runs it. */
export interface StreamHost {
  /** The head of what was published. */
  head(): number;
  /** Whether anyone in this process takes the stamped rows (the statement then returns them). */
  wantsRows(): boolean;
  publish(result: StampResult): void;
  acknowledged(lsn: string): void;
  /** The stream started: the replicator is in WAL mode. */
  streaming(): void;
  stopping(): boolean;
}

interface Deferred {
  promise: Promise<never>;
  reject: (e: unknown) => void;
}

function failure(): Deferred {
  let reject!: (e: unknown) => void;
  const promise = new Promise<never>((_, rej) => {
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, reject };
}

export class WalStream {
  private readonly service: EndSafeReplicationService;
  private readonly assembler: TransactionAssembler;
  private readonly buffer = new BatchBuffer();
  private readonly durable = new DurableAcks();
  private readonly failed = failure();
  /** Where the slot is acknowledged up to. */
  private acked: bigint;
  /** Stamps queued or running. */
  private stamps = 0;
  /** A stamp failed: none queued after it may run (seqs stay a prefix of commit order). */
  private stampFailed = false;
  /** A batch numbered by the database is being stamped: later batches wait for it. */
  private dbStamping = false;
  private linger: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private durableTimer: NodeJS.Timeout | null = null;
  /** The stream is ending: messages are ignored, the batch in hand is stamped (on stop). */
  private draining = false;
  /** The stream failed: nothing more is stamped or acknowledged from it. */
  private broken = false;
  /** The tail of the queries on the leader's session: stamps and mode writes take turns. */
  private onClient: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly opts: WalStreamOptions,
    private readonly host: StreamHost,
  ) {
    this.acked = opts.confirmed;
    this.assembler = new TransactionAssembler(opts.batchSize);
    // Acknowledge only what we say, when we say it: no timer (the library would
    // acknowledge the last received LSN on one) and flow control, so that handlers are
    // awaited before the next message.
    this.service = new EndSafeReplicationService(
      { connectionString: opts.directUrl, application_name: 'realtime-replicator-wal' },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
  }

  /** Streams until the stream fails or ends, the leader's connection is lost, or stop. */
  async run(lost: Promise<never>, stopped: Promise<void>): Promise<void> {
    const { client, log } = this.opts;
    // Commit order from the WAL is what a successor would number the same way, so these
    // stamps need not wait for the disk before their changes go out (see DurableAcks).
    if (this.opts.asyncStamps) await client.query('SET synchronous_commit = off');
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.opts.publication] });
    const service = this.service;
    service.on('start', () => {
      this.host.streaming();
      log.info({ from: formatLsn(this.opts.confirmed) }, 'WAL mode: streaming');
      this.serially(() => setMode(client, 'wal', null, false)).catch(this.fail);
    });
    service.on('data', (_lsn: string, msg: OutboxMessage) => this.onData(msg));
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => this.onHeartbeat(lsn, shouldRespond));
    service.on('error', this.fail);

    const subscribed = service.subscribe(plugin, this.opts.slot).then(() => {
      if (!this.host.stopping()) throw new Error('the replication stream ended');
    });
    subscribed.catch(() => undefined);
    try {
      await Promise.race([subscribed, this.failed.promise, lost, stopped]);
    } finally {
      await this.drain();
    }
  }

  /** Runs `fn` on the leader's session after every query queued before it. */
  serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.onClient.then(fn);
    this.onClient = next.catch(() => undefined);
    return next;
  }

  readonly fail = (err: unknown): void => {
    this.broken = true;
    this.failed.reject(err);
  };

  private async onData(msg: OutboxMessage): Promise<void> {
    if (this.draining || this.broken) return;
    try {
      for (const piece of this.assembler.push(msg)) this.buffer.push(piece);
      const next = afterMessage({ rows: this.buffer.rows, batchSize: this.opts.batchSize, empty: this.buffer.isEmpty, lingering: this.linger !== null, lingerMs: this.opts.lingerMs });
      if (next === 'flush') return await this.flush();
      if (next === 'none') return;
      const fire = () => {
        this.linger = null;
        this.flush().catch(this.fail);
      };
      this.linger = next === 'linger-turn' ? setImmediate(fire) : setTimeout(fire, this.opts.lingerMs);
    } catch (err) {
      this.fail(err);
    }
  }

  private onHeartbeat(lsn: string, shouldRespond: boolean): void {
    if (this.draining || this.broken) return;
    const answer = keepaliveAck({
      inTransaction: this.assembler.inTransaction,
      bufferEmpty: this.buffer.isEmpty,
      stamps: this.stamps,
      durablePending: this.durable.pending,
      libraryIdle: libraryIdle(this.service),
      shouldRespond,
    });
    if (answer === 'keepalive') this.ack(parseLsn(lsn), 'idle keepalive');
    else if (answer === 'acked') this.ack(this.acked, 'keepalive');
  }

  private ack(to: bigint, why: string): void {
    this.opts.log.trace({ to: formatLsn(to), acked: formatLsn(this.acked), why }, 'ack');
    this.acked = maxLsn(this.acked, to);
    this.host.acknowledged(formatLsn(this.acked));
    void this.service.acknowledge(forLibraryAck(this.acked));
  }

  /** Acknowledges what is on disk; asks again while stamps still wait for it. */
  private async checkDurable(): Promise<void> {
    if (this.durableTimer) clearTimeout(this.durableTimer);
    this.durableTimer = null;
    if (this.durable.pending === 0 || this.broken) return;
    const to = await this.serially(async () => {
      const asked = this.durable.asking();
      const at = await walPositions(this.opts.client);
      return this.durable.settle(asked, parseLsn(at.insert), parseLsn(at.flush));
    });
    if (to !== null) this.ack(to, 'stamp flushed');
    this.scheduleDurable();
  }

  private scheduleDurable(): void {
    if (this.durable.pending === 0 || this.durableTimer || this.broken || this.draining) return;
    this.durableTimer = setTimeout(() => void this.checkDurable().catch(this.fail), this.opts.durableCheckMs);
  }

  /**
   * One stamp statement for a batch, retried while any of its rows is not visible yet.
   * `early`: its changes went out already, numbered from the WAL; the statement must give
   * every row exactly those seqs (it numbers the same way), or the stream stops.
   */
  private async stampBatch(batch: Batch, head: number, early: boolean): Promise<void> {
    // Stamps land in the order they were queued or not at all: after a failed stamp none
    // of the later ones may run, or the stamped seqs would not be a prefix of commit order.
    // A stream that broke is no reason to drop them: a batch numbered early went out,
    // and stamping it as numbered spares a successor from having to number it again
    // (which only streaming the slot again would do the same way).
    if (this.stampFailed) throw new Error('an earlier stamp failed; this batch will be streamed again');
    try {
      await this.stampOne(batch, head, early);
    } catch (err) {
      this.stampFailed = true;
      this.broken = true;
      throw err;
    }
  }

  private async stampOne(batch: Batch, head: number, early: boolean): Promise<void> {
    const { client, stampedChannel, log } = this.opts;
    const started = Date.now();
    const withRows = !early && this.host.wantsRows();
    let result = await stampPieces(client, batch.pieces, head, withRows, stampedChannel);
    for (let wait = 1; !result.complete; wait = nextVisibilityWait(wait)) {
      if (Date.now() - started > VISIBILITY_WAIT_MS) {
        throw new Error(`outbox rows of a committed transaction stayed invisible for ${VISIBILITY_WAIT_MS} ms; restarting the stream`);
      }
      await new Promise((r) => setTimeout(r, wait));
      result = await stampPieces(client, batch.pieces, head, withRows, stampedChannel);
    }
    if (earlyMismatch(early, batch.rows, result.stamped)) {
      log.error({ head, rows: batch.rows, stamped: result.stamped }, 'rows numbered early were stamped already: their changes went out under other seqs');
      throw new Error(`${batch.rows - result.stamped} of ${batch.rows} rows numbered early (seqs ${head + 1}..${head + batch.rows}) were stamped already`);
    }
    if (!early) this.host.publish(result);
    const now = Date.now();
    for (const p of batch.pieces) if (p.ids.length) metrics.stampLatency.observe(Math.max(0, now - Number(p.commitTime / 1000n)) / 1000);
    if (batch.ackTo) this.durable.stamped(parseLsn(batch.ackTo));
  }

  private async track(stamp: Promise<void>): Promise<void> {
    this.stamps++;
    try {
      await stamp;
    } finally {
      this.stamps--;
    }
    this.scheduleDurable();
  }

  private async flush(): Promise<void> {
    if (this.buffer.isEmpty) return;
    const route = flushRoute({ early: this.opts.earlyDelivery, dbStamping: this.dbStamping, eligible: earlyEligible(this.buffer.peek(), this.opts.earlyFrom) });
    if (route === 'early') {
      // Out now, in seq order after everything published before; stamped behind the
      // stamps already queued.
      const batch = this.buffer.take();
      const head = this.host.head();
      const changes = numberEarly(batch.pieces, head);
      this.host.publish({ head: head + changes.length, stamped: changes.length, changes });
      metrics.earlyTotal.inc(changes.length);
      return this.track(this.serially(() => this.stampBatch(batch, head, true)));
    }
    while (this.dbStamping) await this.onClient;
    if (this.buffer.isEmpty) return;
    const batch = this.buffer.take();
    this.dbStamping = true;
    // The head is read when the statement runs: after every stamp queued before it.
    return this.track(this.serially(() => this.stampBatch(batch, this.host.head(), false)).finally(() => (this.dbStamping = false)));
  }

  /** However the stream ended: the batch in hand stamped on stop, queued stamps finished, the library closed. */
  private async drain(): Promise<void> {
    this.draining = true;
    if (this.linger) {
      clearTimeout(this.linger as NodeJS.Timeout);
      clearImmediate(this.linger as NodeJS.Immediate);
    }
    if (!this.broken && this.host.stopping()) {
      // SIGTERM: the batch in hand is stamped and acknowledged before the stream closes.
      await this.flush().catch((err: unknown) => this.opts.log.error({ err }, 'could not stamp the last batch; it will be streamed again'));
      await this.onClient;
      // A stamp not yet on disk stays unacknowledged: its transactions are sent again
      // and skipped as already stamped. Waiting a moment spares the next leader that.
      for (let i = 0; i < 40 && this.durable.pending > 0 && !this.broken; i++) {
        await new Promise((r) => setTimeout(r, 25));
        await this.checkDurable().catch(() => undefined);
      }
    }
    if (this.durableTimer) clearTimeout(this.durableTimer);
    // Whatever way the stream ended, the stamps queued on the leader's session finish
    // first (or fail with it): the next mode starts from the head they leave.
    await this.onClient;
    await this.service.destroy().catch(() => undefined);
  }
}
