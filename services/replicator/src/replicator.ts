// The replicator: one leader stamps every outbox row with a dense seq, in commit order
// from the WAL, or in id order from NOTIFY + scans when logical replication is not
// available; standbys wait on the advisory lock. This file is the leader's lifecycle
// (lock, modes, fallback); one run of the WAL stream is a WalStream (wal/stream.ts), and
// the decisions live in mode.ts, wal/pacing.ts, transactions.ts, batch.ts and lsn.ts.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openListener, STAMPED_CHANNEL } from '@realtime/db';
import type { Logger } from '@realtime/runtime';
import { afterWalFailure, classifyWalError, type Mode, type WalFailure } from './mode';
import { readHead, stampVisible, walPositions, type StampedChange, type StampResult } from './sequencer/stamp';
import { parseLsn } from './wal/lsn';
import { createSlot, dropSlot, releaseSlot, slotInfo, walAvailability } from './wal/slot';
import { WalStream } from './wal/stream';
import { claimLeadership, setMode, setSlotReady, slotReady, stepDown } from './state';
import * as metrics from './metrics';
import type { MetricsJson } from '@realtime/runtime';

/** Session-level advisory lock held by the leader ("rtsp"); one stamper per database. */
export const LEADER_LOCK = 0x72747370;

/** A replicator's status before it has done anything (in this thread or another). */
export const STARTING: Omit<ReplicatorStatus, 'identity'> = {
  role: 'starting',
  mode: 'down',
  reason: 'starting',
  headSeq: 0,
  ackedLsn: null,
  stampedSinceStart: 0,
  lastError: null,
};
/** Channel the trigger notifies on in NOTIFY mode. */
export const OUTBOX_CHANNEL = 'realtime_outbox';

export interface ReplicatorConfig {
  /** Direct connection (never PgBouncer): replication, LISTEN and the advisory lock. */
  directUrl: string;
  slot: string;
  publication: string;
  batchSize: number;
  /** 0: a batch goes as soon as the stream has handed over what it holds (batches grow only under load). */
  lingerMs: number;
  /**
   * `async` (default): in WAL mode a stamp commits without waiting for its WAL flush, its
   * changes are delivered at once, and the slot is acknowledged only once it is flushed.
   * `sync`: every stamp waits for the disk before its changes go out.
   */
  stampCommit?: 'async' | 'sync';
  /**
   * true (default): a whole transaction from the WAL goes out numbered before its stamp
   * statement runs, the way the statement and any successor number it (sequencer/early.ts).
   */
  earlyDelivery?: boolean;
  /** How often unflushed stamps are checked for durability (ms). */
  durableCheckMs?: number;
  safetyPollMs: number;
  walRetryMs: number;
  reconnectMs?: number;
  standbyPollMs?: number;
  maxStreamFailures?: number;
  log: Logger;
}

export type Role = 'starting' | 'standby' | 'leader' | 'stopped';

export interface ReplicatorStatus {
  identity: string;
  role: Role;
  mode: Mode;
  reason: string | null;
  headSeq: number;
  ackedLsn: string | null;
  stampedSinceStart: number;
  lastError: string | null;
}

export type StampListener = (changes: StampedChange[], head: number) => void;

/**
 * What the rest of a process uses of its replicator, whether it runs on this thread
 * (`Replicator`) or in a worker thread (`ReplicatorThread`, thread/thread.ts).
 */
export interface ReplicatorLike {
  start(): Promise<void>;
  /** Stamps and acknowledges the batch in hand, steps down, releases the leader lock. */
  stop(): Promise<void>;
  /** Synchronous: a thread answers with the latest status its worker pushed. */
  status(): ReplicatorStatus;
  /** Every stamped batch, in seq order. */
  onStamped(fn: StampListener): () => void;
  /** Metrics kept in another registry (a worker's), for this process's /metrics; null when none answer. */
  foreignMetrics?(): Promise<MetricsJson | null>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
/** A leader term ends when its connection does: `lost` rejects and `error` says why. */
interface Term {
  lost: Deferred<never>;
  error: Error | null;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

class WalFailureError extends Error {
  constructor(
    message: string,
    readonly kind: WalFailure,
  ) {
    super(message);
  }
}

export class Replicator implements ReplicatorLike {
  readonly identity = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly log: Logger;
  private readonly reconnectMs: number;
  private readonly standbyPollMs: number;
  private readonly maxStreamFailures: number;
  private readonly listeners = new Set<StampListener>();
  private stopping = false;
  private readonly stopped = deferred();
  private loop: Promise<void> | null = null;
  private head = 0;
  private state: Omit<ReplicatorStatus, 'identity'> = { ...STARTING };

  constructor(private readonly cfg: ReplicatorConfig) {
    this.log = cfg.log.child({ component: 'replicator', slot: cfg.slot });
    this.reconnectMs = cfg.reconnectMs ?? 1000;
    this.standbyPollMs = cfg.standbyPollMs ?? 1000;
    this.maxStreamFailures = cfg.maxStreamFailures ?? 3;
  }

  status(): ReplicatorStatus {
    return { identity: this.identity, ...this.state, headSeq: this.head };
  }

  /** In-process delivery of every stamped batch, in seq order. */
  onStamped(fn: StampListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.log.info({ identity: this.identity }, 'replicator starting');
    this.loop = this.run();
  }

  /** Stop reading, stamp and acknowledge the batch in hand, step down, release the lock. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.resolve();
    this.wakeAll();
    await this.loop;
    this.state.role = 'stopped';
    this.state.mode = 'down';
  }

  private readonly sleepers = new Set<() => void>();

  /** Sleeps up to `ms`; stop, a lost connection or `onWake`'s callback end it early. */
  private sleep(ms: number, onWake?: (wake: () => void) => void): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
      onWake?.(done);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let client: pg.Client | null = null;
      const term: Term = { lost: deferred<never>(), error: null };
      try {
        client = await this.acquire(term);
        if (!client) break;
        await this.lead(client, term);
      } catch (err) {
        this.state.lastError = (err as Error).message;
        this.state.mode = 'down';
        metrics.setMode('down');
        metrics.replicatorErrors.inc({ component: 'replicator' });
        this.state.reason = `connection lost: ${(err as Error).message}`;
        this.log.error({ err }, `replicator lost its database connection or failed; reconnecting in ${this.reconnectMs} ms`);
      } finally {
        if (client) await this.release(client);
      }
      if (!this.stopping) await this.sleep(this.reconnectMs);
    }
    this.state.role = 'stopped';
    metrics.setMode('down');
    this.log.info('replicator stopped');
  }

  /** Connect and wait for the leader lock; null when stopped first. */
  private async acquire(term: Term): Promise<pg.Client | null> {
    const client = new pg.Client({ connectionString: this.cfg.directUrl, application_name: 'realtime-replicator' });
    client.on('error', (err) => {
      term.error = err;
      term.lost.reject(err);
      this.wakeAll();
    });
    await client.connect();
    while (!this.stopping) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LEADER_LOCK]);
      if (rows[0]?.ok) return client;
      if (this.state.role !== 'standby') {
        this.state.role = 'standby';
        this.state.reason = 'another replicator leads';
        this.log.info('standby: another replicator holds the leader lock');
      }
      await this.sleep(this.standbyPollMs);
      if (term.error) throw term.error;
    }
    await client.end().catch(() => undefined);
    return null;
  }

  private async release(client: pg.Client): Promise<void> {
    try {
      if (this.state.role === 'leader') {
        await stepDown(client, this.identity);
        await client.query('SELECT pg_advisory_unlock($1)', [LEADER_LOCK]);
      }
    } catch {
      // The connection is gone: Postgres released the lock with it.
    }
    await client.end().catch(() => undefined);
    if (this.state.role === 'leader') this.state.role = 'starting';
  }

  private async lead(client: pg.Client, term: Term): Promise<void> {
    const lost = term.lost;
    this.state.role = 'leader';
    await claimLeadership(client, this.identity, this.cfg.slot);
    this.head = await readHead(client);
    this.state.headSeq = this.head;
    this.log.info({ head: this.head }, 'leader: stamping from here');
    let failures = 0;
    let lastFailure = 0;
    while (!this.stopping) {
      // Changes numbered early whose stamps never ran are numbered again, the same way,
      // from what the database holds.
      this.head = await readHead(client);
      this.state.headSeq = this.head;
      const available = await walAvailability(client);
      if (!available.ok) {
        await this.notifyMode(client, term, available.reason);
        continue;
      }
      try {
        await this.walMode(client, lost);
      } catch (err) {
        if (term.error) throw err;
        const kind = err instanceof WalFailureError ? err.kind : classifyWalError(err);
        if (Date.now() - lastFailure > 60_000) failures = 0;
        lastFailure = Date.now();
        const decision = afterWalFailure(kind, failures, { maxFailures: this.maxStreamFailures, reconnectMs: this.reconnectMs });
        failures = decision.failures;
        this.state.lastError = (err as Error).message;
        metrics.replicatorErrors.inc({ component: 'replicator' });
        this.log.warn({ err, kind, action: decision.action }, 'WAL stream failed');
        if (decision.action === 'fallback') {
          await this.notifyMode(client, term, `WAL stream: ${(err as Error).message}`);
        } else {
          if (kind === 'slot-busy') await releaseSlot(client, this.cfg.slot);
          await this.sleep(decision.delayMs);
        }
      }
    }
  }

  /** The stamp statement itself sent the NOTIFY for other processes; this tells our own. */
  private publish(result: StampResult): void {
    if (result.stamped === 0) return;
    metrics.stampedTotal.inc(result.stamped);
    this.head = result.head;
    this.state.headSeq = result.head;
    this.state.stampedSinceStart += result.stamped;
    for (const fn of this.listeners) {
      try {
        fn(result.changes, result.head);
      } catch (err) {
        this.log.error({ err }, 'an in-process stamp listener threw; the stream goes on');
      }
    }
  }

  /** Stamp every visible unstamped row, in id order, in batches. */
  private async scanAll(client: pg.ClientBase): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await stampVisible(client, this.head, this.cfg.batchSize, this.listeners.size > 0, STAMPED_CHANNEL);
      this.publish(result);
      total += result.stamped;
      if (result.stamped < this.cfg.batchSize) return total;
    }
  }

  private async walMode(client: pg.Client, lost: Deferred<never>): Promise<void> {
    const { slot } = this.cfg;
    let info = await slotInfo(client, slot);
    if (info.exists && !info.ours) {
      throw new WalFailureError(
        `replication slot "${slot}" belongs to database "${info.database ?? '(none)'}"; slot names are shared by the whole server, so set REPLICATION_SLOT to a name no other database uses`,
        'unavailable',
      );
    }
    if (info.lost) throw new WalFailureError(`replication slot "${slot}" was invalidated (it fell behind max_slot_wal_keep_size)`, 'slot-lost');
    let ready = info.exists && (await slotReady(client));
    if (!info.exists) {
      // Create the slot first, then scan, then stream: every row is either visible to the
      // scan or committed after the slot's start, and stamping skips rows seen twice.
      await setSlotReady(client, false);
      await createSlot(client, slot);
      info = await slotInfo(client, slot);
      this.log.info('created replication slot');
      ready = false;
    }
    if (info.activePid) await releaseSlot(client, slot);
    // The scan numbers rows in id order, which nobody could reproduce: it waits for the disk.
    await client.query('SET synchronous_commit = on');
    if (!ready) {
      const n = await this.scanAll(client);
      await setSlotReady(client, true);
      this.log.info({ stamped: n }, 'scanned rows written before the slot existed');
    }
    // Every stamp so far committed before this read, so none of its rows belongs to a
    // transaction committing after it: those may be numbered from the WAL (early.ts).
    const earlyFrom = parseLsn((await walPositions(client)).insert);
    await this.stream(client, lost, info.confirmedFlush ? parseLsn(info.confirmedFlush) : 0n, earlyFrom);
  }

  private async stream(client: pg.Client, lost: Deferred<never>, confirmed: bigint, earlyFrom: bigint): Promise<void> {
    const stream = new WalStream(
      {
        client,
        directUrl: this.cfg.directUrl,
        slot: this.cfg.slot,
        publication: this.cfg.publication,
        batchSize: this.cfg.batchSize,
        lingerMs: this.cfg.lingerMs,
        asyncStamps: (this.cfg.stampCommit ?? 'async') === 'async',
        durableCheckMs: this.cfg.durableCheckMs ?? 50,
        earlyDelivery: this.cfg.earlyDelivery ?? true,
        earlyFrom,
        confirmed,
        stampedChannel: STAMPED_CHANNEL,
        log: this.log,
      },
      {
        head: () => this.head,
        wantsRows: () => this.listeners.size > 0,
        publish: (result) => this.publish(result),
        acknowledged: (lsn) => (this.state.ackedLsn = lsn),
        streaming: () => {
          metrics.setMode('wal');
          this.state.mode = 'wal';
          this.state.reason = null;
        },
        stopping: () => this.stopping,
      },
    );
    await stream.run(lost.promise, this.stopped.promise);
  }

  private async notifyMode(client: pg.Client, term: Term, reason: string): Promise<void> {
    const { slot } = this.cfg;
    // Stamps in id order are not reproducible by a successor: each waits for the disk.
    await client.query('SET synchronous_commit = on');
    // Flag first, then listen, then scan: a row committed before the flag was on is
    // found by the scan, one committed after it also wakes us.
    await setMode(client, 'notify', reason, true);
    metrics.setMode('notify');
    this.state.mode = 'notify';
    this.state.reason = reason;
    this.log.warn({ reason }, 'NOTIFY mode: stamping from LISTEN and scans');
    // A slot nobody reads keeps WAL forever; WAL mode makes a fresh one.
    await dropSlot(client, slot).catch((err: unknown) => this.log.warn({ err }, 'could not drop the unused slot'));

    let wake: (() => void) | null = null;
    let pending = false;
    if (term.error) throw term.error;
    const nudge = () => {
      pending = true;
      wake?.();
    };
    let listener: pg.Client | null = null;
    const listen = async () => {
      const c = await openListener({
        url: this.cfg.directUrl,
        channel: OUTBOX_CHANNEL,
        applicationName: 'realtime-replicator-listen',
        onNotify: nudge,
        onLost: (err, lost) => {
          this.log.warn({ err }, 'LISTEN connection lost; the safety poll covers until it is back');
          if (listener === lost) listener = null;
          nudge();
        },
      });
      listener = c;
    };

    let nextProbe = Date.now() + this.cfg.walRetryMs;
    let lastProbeFailure: string | null = null;
    try {
      while (!this.stopping) {
        if (!listener) await listen().catch((err: unknown) => this.log.warn({ err }, 'could not LISTEN; polling'));
        pending = false;
        await this.scanAll(client);
        if (Date.now() >= nextProbe) {
          nextProbe = Date.now() + this.cfg.walRetryMs;
          if ((await walAvailability(client)).ok) {
            try {
              await setSlotReady(client, false);
              // A slot left from before this NOTIFY spell (its drop needs the REPLICATION
              // the role had lost) points behind rows stamped since: make a fresh one.
              await dropSlot(client, slot);
              await createSlot(client, slot);
              this.log.info('logical replication works again: slot created, back to WAL mode');
              return;
            } catch (err) {
              const why = (err as Error).message;
              if (why !== lastProbeFailure) this.log.warn({ err }, 'logical replication is available but the slot cannot be made; staying in NOTIFY mode and trying again');
              lastProbeFailure = why;
            }
          }
        }
        if (pending) continue;
        // Wake for a notification, the safety poll, or the next WAL probe, whichever is first.
        await this.sleep(Math.max(0, Math.min(this.cfg.safetyPollMs, nextProbe - Date.now())), (w) => (wake = w));
        wake = null;
        if (term.error) throw term.error;
      }
    } finally {
      const l = listener as pg.Client | null;
      listener = null;
      await l?.end().catch(() => undefined);
    }
  }
}
