// The change log appender: while this replicator leads, every stamped batch goes to the
// shared change log on Redis Streams, one append at a time and in seq order, and a
// reconcile keeps the log's history the database's and fills what the log missed from the
// outbox. The log is a copy: Redis away never holds up stamping, and this part is healthy
// whatever Redis does. The decisions are in plan.ts; the outbox reads in outbox.ts.
import type pg from 'pg';
import { ChangeLogError, NotCurrentError, type ChangeLog, type LogChange } from '@realtime/changelog';
import { HEALTHY, type Health, type Logger, type Service } from '@realtime/runtime';
import type { StampedChange } from '@realtime/db';
import type { ReplicatorLike } from '../replicator';
import { decideReconcile, denseRuns, lagOf, lookVerdict, overflows, toLogChange } from './plan';
import { fingerprintAt, outboxHead, stampedBetween } from './outbox';
import * as metrics from './metrics';

export interface ChangeLogAppenderOptions {
  replicator: ReplicatorLike;
  /** Reads the outbox: the head, fingerprints and stamped rows for gap fills. */
  pool: pg.Pool;
  changelog: ChangeLog;
  log: Logger;
  /** How often the leader reconciles the log with the outbox (1000 ms). */
  reconcileEveryMs?: number;
  /** Most changes waiting for the log; a batch past it drops the queue for a refill from the outbox (100000). */
  maxQueued?: number;
  /** Rows per outbox read of a gap fill, and the head's page an empty stream starts with (1000). */
  pageSize?: number;
  /** Most changes in one append (5000): one script call blocks Redis while it runs. */
  maxAppend?: number;
  /** A Redis command not answered in this time counts as Redis away (5000 ms): a frozen Redis answers nothing. */
  opTimeoutMs?: number;
  /** The wait between attempts while the log or the outbox fails (500 ms). */
  retryMs?: number;
}

export interface ChangeLogStatus {
  /** The stream appended to, null before the first reconcile. */
  key: string | null;
  /** The stream's last seq as this process last saw or wrote it. */
  lastSeq: number | null;
  headSeq: number;
  /** Seqs the log trails the outbox head by. */
  lag: number;
  connected: boolean;
  /** Changes waiting for the log. */
  queued: number;
  lastError: string | null;
}

/** A Redis command that did not answer in time: counted as Redis away. */
class LogTimeoutError extends Error {
  override readonly name = 'LogTimeoutError';
}

export class ChangeLogAppender implements Service {
  readonly name = 'changelog';
  private readonly log: Logger;
  private readonly reconcileEveryMs: number;
  private readonly maxQueued: number;
  private readonly pageSize: number;
  private readonly maxAppend: number;
  private readonly opTimeoutMs: number;
  private readonly retryMs: number;

  private queue: LogChange[] = [];
  private needReconcile = true;
  /**
   * A reconcile has run as leader since the last time this process was seen not leading,
   * or failed: only then are stamped batches appended. The append script skips seqs at or
   * below the stream's last, which is idempotence within one history; before that
   * reconcile the stream may be another's (a restore's lost changes), and a batch
   * appended on top would make one stream of two histories.
   */
  private reconciledAsLeader = false;
  private opened = false;
  private connecting: Promise<void> | null = null;
  private state: 'starting' | 'up' | 'down' = 'starting';
  private key: string | null = null;
  private lastSeq: number | null = null;
  private head = 0;
  /** The highest seq appended from stamped batches in this leadership (plan.ts: "ahead"). */
  private ownLast: number | null = null;
  private lastError: string | null = null;
  private overflowNoted = false;
  /** A look at the log is running (beside the append loop). */
  private looking = false;
  /** The outbox head the last look saw the log short of: the next look finds it reached, or reconciles. */
  private owedTo: number | null = null;

  private stopping = false;
  private loop: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly opts: ChangeLogAppenderOptions) {
    this.log = opts.log.child({ component: 'changelog-appender', prefix: opts.changelog.prefix });
    this.reconcileEveryMs = opts.reconcileEveryMs ?? 1000;
    this.maxQueued = opts.maxQueued ?? 100_000;
    this.pageSize = opts.pageSize ?? 1000;
    this.maxAppend = opts.maxAppend ?? 5000;
    this.opTimeoutMs = opts.opTimeoutMs ?? 5000;
    this.retryMs = opts.retryMs ?? 500;
  }

  /** Subscribes to stamped batches and starts the append loop; Redis being away does not fail it. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.unsubscribe = this.opts.replicator.onStamped((changes, head) => this.stamped(changes, head));
    this.timer = setInterval(() => {
      // Only the leader writes: a standby's reconcile would race the leader's appends.
      if (!this.isLeader()) {
        this.reconciledAsLeader = false;
        return;
      }
      // Appending in this history: the check is a look beside the appends, which they
      // never wait for. A reconcile in the loop held every stamped batch behind four
      // round trips each period, and under steady writes found a "gap" of batches that
      // were only queued, and filled it from the outbox for nothing.
      if (this.state === 'up' && this.reconciledAsLeader && this.key !== null && !this.needReconcile) void this.look(this.key);
      else {
        this.needReconcile = true;
        this.poke();
      }
    }, this.reconcileEveryMs);
    this.timer.unref();
    this.loop = this.run();
  }

  /** Appends what is queued if the log answers, then closes the log's connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.poke();
    // Bounded: a frozen Redis must not hold up the process's stop (its sockets end with it).
    await this.bounded('the append loop', this.loop ?? Promise.resolve());
    if (this.queue.length > 0 && this.state === 'up' && this.key !== null) {
      await this.appendBatch(this.takeQueue()).catch((err: unknown) => this.log.warn({ err }, 'could not append the last stamped changes at stop; a leader reconciles them from the outbox'));
    }
    await this.bounded('closing the change log', this.opts.changelog.close());
  }

  private async bounded(what: string, p: Promise<unknown>): Promise<void> {
    try {
      await this.timed(what, p);
    } catch (err) {
      this.log.warn({ err }, `${what} did not end in time at stop; going on without it`);
    }
  }

  /** Always healthy: the log is a copy, and stamping goes on without it. `/status` shows its state. */
  health(): Health {
    return HEALTHY;
  }

  status(): ChangeLogStatus {
    return { key: this.key, lastSeq: this.lastSeq, headSeq: this.head, lag: lagOf(this.head, this.lastSeq), connected: this.state === 'up', queued: this.queue.length, lastError: this.lastError };
  }

  private isLeader(): boolean {
    return this.opts.replicator.status().role === 'leader';
  }

  private stamped(changes: StampedChange[], head: number): void {
    this.head = Math.max(this.head, head);
    this.refreshLag();
    if (this.stopping || changes.length === 0) return;
    if (overflows(this.queue.length, changes.length, this.maxQueued)) {
      this.queue = [];
      this.needReconcile = true;
      if (!this.overflowNoted) this.log.warn({ maxQueued: this.maxQueued }, 'more stamped changes wait for the change log than it may hold; dropped them, the log is refilled from the outbox');
      this.overflowNoted = true;
    } else {
      // One by one: a spread of a large batch would overflow the call stack.
      for (const c of changes) this.queue.push(toLogChange(c));
    }
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Until poked (work, or stop), or `ms` when given. */
  private idle(ms?: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = ms === undefined ? null : setTimeout(done, ms);
      function done() {
        if (timer) clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private takeQueue(): LogChange[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        if (!this.opened) {
          // One connect in flight at a time: one that outlives its timeout (a frozen Redis)
          // is waited for again, never started twice on the same connections.
          this.connecting ??= this.opts.changelog.connect().catch((err: unknown) => {
            this.connecting = null;
            throw err;
          });
          await this.timed('connect', this.connecting);
          this.opened = true;
        }
        if (this.needReconcile || (this.queue.length > 0 && !this.reconciledAsLeader)) {
          this.needReconcile = false;
          await this.reconcile();
          // Still not leading (a batch from a leadership already lost): it waits for the next reconcile.
          if (this.queue.length > 0 && !this.reconciledAsLeader) await this.idle(this.retryMs);
        } else if (this.queue.length > 0) {
          await this.appendBatch(this.takeQueue());
        } else {
          await this.idle();
          continue;
        }
        this.up();
      } catch (err) {
        if (err instanceof NotCurrentError) {
          this.log.info({ key: err.key, current: err.current }, 'the change log moved to another history; reconciling');
          this.key = null;
          this.reconciledAsLeader = false;
          this.needReconcile = true;
          continue;
        }
        this.down(err);
        await this.idle(this.retryMs);
      }
    }
  }

  /** A Redis command bounded in time: a frozen Redis leaves it unanswered, not failed. */
  private timed<T>(op: string, p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LogTimeoutError(`change log: ${op} did not answer within ${this.opTimeoutMs} ms: is Redis frozen or overloaded?`)), this.opTimeoutMs);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  private up(): void {
    this.lastError = null;
    this.overflowNoted = false;
    if (this.state === 'up') return;
    const was = this.state;
    this.state = 'up';
    if (was === 'down') this.log.info({ key: this.key, lastSeq: this.lastSeq, head: this.head }, 'the change log answers again; appending, and refilling it from the outbox');
    else this.log.info({ key: this.key, lastSeq: this.lastSeq }, 'appending stamped changes to the change log');
  }

  private down(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    metrics.appendErrorsTotal.inc();
    // Whatever was in flight may be lost: the reconcile refills it from the outbox.
    this.needReconcile = true;
    this.reconciledAsLeader = false;
    const redis = err instanceof ChangeLogError || err instanceof LogTimeoutError;
    if (this.state !== 'down' || (!redis && message !== this.lastError)) {
      this.log.warn({ err }, redis ? 'the change log does not answer; stamping goes on, and the log is refilled from the outbox when it is back' : 'the change log appender failed; trying again, and refilling the log from the outbox');
    }
    this.state = 'down';
    this.lastError = message;
  }

  private refreshLag(): void {
    metrics.lagGauge.set(lagOf(this.head, this.lastSeq));
  }

  private async openEpoch(reason: string): Promise<string> {
    const key = await this.timed('openEpoch', this.opts.changelog.openEpoch());
    metrics.epochsOpenedTotal.inc();
    this.log.info({ key, reason }, 'opened a new change log history');
    this.key = key;
    this.lastSeq = null;
    return key;
  }

  /**
   * The log against the outbox, read only: a reconcile in the loop when it is not the
   * database's history, is empty, or is still short of the head the last look saw. Any
   * failure leaves it to a reconcile, which reports it.
   */
  private async look(key: string): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      const { changelog, pool } = this.opts;
      const current = await this.timed('GET current', changelog.current());
      const last = current === key ? await this.timed(`lastOf ${key}`, changelog.lastOf(key)) : null;
      const head = await outboxHead(pool);
      const rowFp = last !== null && last.seq <= head ? await fingerprintAt(pool, last.seq) : null;
      this.head = Math.max(this.head, head);
      this.refreshLag();
      const d = current === key ? decideReconcile({ last, rowFp, head, ownLast: this.ownLast, pageSize: this.pageSize }) : ({ kind: 'new-epoch', reason: 'current moved' } as const);
      const v = lookVerdict(d, last?.seq ?? null, this.owedTo);
      this.owedTo = v.owedTo;
      if (v.reconcile) this.askReconcile();
    } catch {
      this.askReconcile();
    } finally {
      this.looking = false;
    }
  }

  private askReconcile(): void {
    this.owedTo = null;
    this.needReconcile = true;
    this.poke();
  }

  /**
   * Brings the log to the outbox head, in the database's history: a new epoch when there
   * is none or when its last entry is not the outbox's row at that seq, then the gap.
   */
  private async reconcile(): Promise<void> {
    const { changelog, pool } = this.opts;
    let key = await this.timed('GET current', changelog.current());
    if (!this.isLeader()) {
      // A standby only looks (for /status); appending is the leader's.
      this.key = key;
      this.ownLast = null;
      this.reconciledAsLeader = false;
      return;
    }
    key ??= await this.openEpoch('no current history');
    this.key = key;
    // At most: a new epoch, then its first page.
    for (let round = 0; round < 3; round++) {
      const last = await this.timed(`lastOf ${key}`, changelog.lastOf(key));
      const head = await outboxHead(pool);
      this.head = Math.max(this.head, head);
      const rowFp = last !== null && last.seq <= head ? await fingerprintAt(pool, last.seq) : null;
      const decision = decideReconcile({ last, rowFp, head, ownLast: this.ownLast, pageSize: this.pageSize });
      this.lastSeq = last?.seq ?? null;
      this.refreshLag();
      if (decision.kind === 'same' || decision.kind === 'ahead') {
        this.reconciledAsLeader = true;
        return;
      }
      if (decision.kind === 'new-epoch') {
        key = await this.openEpoch(decision.reason);
        continue;
      }
      if (await this.fill(key, decision.after, decision.to, last === null)) {
        this.reconciledAsLeader = true;
        return;
      }
      // Rows at or below the head are gone (pruned, or deleted by hand): the log cannot
      // follow on from its last entry, so it starts again in a history of its own.
      key = await this.openEpoch(`the outbox lacks stamped rows in (${this.lastSeq ?? decision.after}, ${decision.to}]: pruned`);
    }
  }

  /**
   * Appends the outbox's stamped rows (after, to] in pages. False when a row is missing
   * (not stamped yet, or pruned): nothing past the hole is appended. `anyStart`: an empty
   * stream starts at the first row there is.
   */
  private async fill(key: string, after: number, to: number, anyStart: boolean): Promise<boolean> {
    let cursor = after;
    let first = true;
    while (cursor < to) {
      const rows = await stampedBetween(this.opts.pool, cursor, to, this.pageSize);
      const run = denseRuns(rows)[0];
      if (!run || (run[0]!.seq !== cursor + 1 && !(anyStart && first))) return false;
      const r = await this.append(key, run);
      if (r.gapAfter !== null) return false;
      cursor = run[run.length - 1]!.seq;
      first = false;
      if (run.length < rows.length) return false;
    }
    metrics.gapFillsTotal.inc();
    return true;
  }

  private async append(key: string, run: LogChange[]): Promise<{ gapAfter: number | null }> {
    const r = await this.timed(`append to ${key}`, this.opts.changelog.append(key, run));
    if (r.gapAfter !== null) return r;
    metrics.appendedTotal.inc(r.appended);
    const end = run[run.length - 1]!.seq;
    this.lastSeq = Math.max(this.lastSeq ?? 0, end);
    this.refreshLag();
    return r;
  }

  /** A coalesced run of stamped batches, in dense runs; a run after a gap waits for the gap's fill. */
  private async appendBatch(batch: LogChange[]): Promise<void> {
    if (this.key === null) {
      // No history chosen yet (the first batch of a new leader): reconcile first, then
      // these, so a fresh log starts with the first batch even if its stamp has not
      // committed when the reconcile reads the head. Not leading, it is the leader's to do.
      this.needReconcile = true;
      if (this.isLeader()) this.queue = batch.concat(this.queue);
      return;
    }
    for (const whole of denseRuns(batch)) {
      for (let i = 0; i < whole.length; i += this.maxAppend) {
        const run = whole.slice(i, i + this.maxAppend);
        const key = this.key;
        if (key === null) return;
        let r = await this.append(key, run);
        if (r.gapAfter !== null) {
          if (!(await this.fill(key, r.gapAfter, run[0]!.seq - 1, false))) {
            this.needReconcile = true;
            return;
          }
          r = await this.append(key, run);
          if (r.gapAfter !== null) {
            this.needReconcile = true;
            return;
          }
        }
        this.ownLast = Math.max(this.ownLast ?? 0, run[run.length - 1]!.seq);
      }
    }
  }
}
