// The replicator in a worker thread, with the surface of one in this thread: stamping and
// WAL decoding stay off the event loop that serves the sockets and the API. A crashed
// worker is logged and started again with backoff (restart.ts); the process lives on.
import { Worker } from 'node:worker_threads';
import { stopFlagBuffer, writeForeignLine, type Logger } from '@realtime/runtime';
import { STARTING, type ReplicatorConfig, type ReplicatorLike, type ReplicatorStatus, type StampListener } from '../replicator';
import type { StampedChange } from '../sequencer/stamp';
import type { MetricsJson } from '@realtime/runtime';
import { replicatorErrors } from '../metrics';
import { afterCrash, RESTART_POLICY, type RestartPolicy } from './restart';
import type { FromWorker, ToWorker, WorkerInit } from './messages';

const BOOT = new URL('./boot.mjs', import.meta.url);
const WORKER = new URL('./worker.ts', import.meta.url);

export interface ThreadOptions {
  /** The module the worker runs; the replicator's (worker.ts) unless a test brings its own. */
  entry?: URL;
  /** The worker pushes its status when it changes and at least this often (1 s). */
  statusEveryMs?: number;
  restart?: RestartPolicy;
  /** How long /metrics waits for the worker's registry before it answers without it (2 s). */
  metricsTimeoutMs?: number;
  /** A stop that takes longer ends the worker (its connections close, Postgres frees the lock) (20 s). */
  stopTimeoutMs?: number;
}

export class ReplicatorThread implements ReplicatorLike {
  private readonly log: Logger;
  private readonly listeners = new Set<StampListener>();
  private worker: Worker | null = null;
  private latest: ReplicatorStatus = { identity: `${process.pid}:replicator-thread`, ...STARTING };
  private stopping = false;
  private attempt = 0;
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, (metrics: MetricsJson | null) => void>();

  constructor(
    private readonly cfg: ReplicatorConfig,
    private readonly opts: ThreadOptions = {},
  ) {
    this.log = cfg.log.child({ component: 'replicator', slot: cfg.slot });
  }

  status(): ReplicatorStatus {
    return { ...this.latest };
  }

  onStamped(fn: StampListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves once the worker runs its replicator; rejects if it fails before (no restart then: a broken setup). */
  async start(): Promise<void> {
    if (this.worker || this.stopping) return;
    await this.spawn();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const worker = this.worker;
    if (worker) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const stopped = new Promise<void>((resolve) => worker.on('message', (m: FromWorker) => m.type === 'stopped' && resolve()));
      const timeoutMs = this.opts.stopTimeoutMs ?? 20_000;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.log.warn({ timeoutMs }, 'the replicator thread did not stop in time; ending it (Postgres releases the leader lock with its connections)');
          resolve();
        }, timeoutMs);
      });
      this.send(worker, { type: 'stop' });
      await Promise.race([stopped, exited, late]);
      clearTimeout(timer);
      // The replicator has stepped down and closed its connections: nothing left to wait for.
      await worker.terminate();
      await exited;
    }
    this.latest = { ...this.latest, role: 'stopped', mode: 'down' };
  }

  /** The worker's registry, for /metrics; null when no worker answers in time. */
  foreignMetrics(): Promise<MetricsJson | null> {
    const worker = this.worker;
    if (!worker) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(null), this.opts.metricsTimeoutMs ?? 2000);
      const answer = (metrics: MetricsJson | null) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(metrics);
      };
      this.waiting.set(id, answer);
      this.send(worker, { type: 'metrics', id });
    });
  }

  private send(worker: Worker, m: ToWorker): void {
    worker.postMessage(m);
  }

  private deliver(changes: StampedChange[], head: number): void {
    for (const fn of this.listeners) {
      try {
        fn(changes, head);
      } catch (err) {
        this.log.error({ err }, 'an in-process stamp listener threw; the stream goes on');
      }
    }
  }

  private spawn(): Promise<void> {
    const { log: _log, ...config } = this.cfg;
    const init: WorkerInit = {
      config,
      log: { level: this.cfg.log.level, bindings: this.cfg.log.bindings() },
      stopFlag: stopFlagBuffer(),
      entry: (this.opts.entry ?? WORKER).href,
      attempt: this.attempt++,
      statusEveryMs: this.opts.statusEveryMs ?? 1000,
    };
    const worker = new Worker(BOOT, { workerData: init, name: 'replicator' });
    this.worker = worker;
    const startedAt = Date.now();
    let ready = false;
    let error: Error | null = null;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            ready = true;
            this.latest = m.status;
            this.log.info({ attempt: init.attempt, threadId: worker.threadId, startMs: Date.now() - startedAt }, 'replicator thread running');
            resolve();
            break;
          case 'status':
          case 'stopped':
            this.latest = m.status;
            break;
          case 'stamped':
            this.latest = m.status;
            this.deliver(m.changes, m.head);
            break;
          case 'metrics':
            this.waiting.get(m.id)?.(m.metrics);
            break;
          case 'log':
            writeForeignLine(this.cfg.log, m.line);
            break;
        }
      });
      worker.on('messageerror', (err) => this.log.error({ err }, 'a message from the replicator thread could not be read'));
      // An uncaught error in the worker: 'error', then 'exit'.
      worker.on('error', (err) => (error = err));
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = null;
        for (const answer of [...this.waiting.values()]) answer(null);
        if (this.stopping) return resolve();
        if (!ready) return reject(new Error(`the replicator thread ended before its replicator started (exit code ${code}${error ? `: ${error.message}` : ''})`, { cause: error }));
        this.crashed(error, code, Date.now() - startedAt, init.attempt);
      });
    });
  }

  /**
   * The worker died under us (a bug, or memory): say so loudly and start another after a
   * backoff. The process and its sockets live on; the feed reads what it misses meanwhile.
   */
  private crashed(err: Error | null, exitCode: number | null, ranMs: number, attempt: number): void {
    const { crashes, delayMs } = afterCrash(this.crashes, ranMs, this.opts.restart ?? RESTART_POLICY);
    this.crashes = crashes;
    const why = err?.message ?? `exit code ${exitCode}`;
    replicatorErrors.inc({ component: 'replicator_thread' });
    this.latest = { ...this.latest, role: 'starting', mode: 'down', reason: `the replicator thread crashed (${why}); restarting in ${delayMs} ms`, lastError: why };
    this.log.error({ err, exitCode, attempt, ranMs, crashesInARow: crashes, restartInMs: delayMs }, 'the replicator thread crashed; starting a new one after the backoff');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.spawn().catch((e: unknown) => this.crashed(e as Error, null, 0, this.attempt - 1));
    }, delayMs);
  }
}
