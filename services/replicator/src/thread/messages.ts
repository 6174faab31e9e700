// What crosses between the replicator's worker thread and the thread that started it:
// the worker's settings, and the messages each way (structured clones, in order per port).
import type { ReplicatorConfig, ReplicatorStatus } from '../replicator';
import type { StampedChange } from '../sequencer/stamp';
import type { MetricsJson } from '@realtime/runtime';

/** `workerData`: the replicator's settings without the logger, which the worker makes again. */
export interface WorkerInit {
  config: Omit<ReplicatorConfig, 'log'>;
  /** The parent logger's level and bindings, so the worker's lines carry the same context (the parent writes them in its own format). */
  log: { level: string; bindings: Record<string, unknown> };
  /** The process's stop flag (services/runtime/src/process.ts): signals reach only the main thread. */
  stopFlag: SharedArrayBuffer;
  /** The module the worker runs after tsx is registered (a file URL). */
  entry: string;
  /** 0 for the first worker, then one more per restart. */
  attempt: number;
  /** The status is pushed when it changes and at least this often. */
  statusEveryMs: number;
}

export type ToWorker = { type: 'stop' } | { type: 'metrics'; id: number };

export type FromWorker =
  | { type: 'ready'; status: ReplicatorStatus }
  | { type: 'status'; status: ReplicatorStatus }
  /** One stamped batch, in seq order, with the status right after it. */
  | { type: 'stamped'; changes: StampedChange[]; head: number; status: ReplicatorStatus }
  | { type: 'metrics'; id: number; metrics: MetricsJson | null }
  | { type: 'stopped'; status: ReplicatorStatus }
  /** A log line (JSON), written by the parent in order with the messages around it. */
  | { type: 'log'; line: string };
