// Clients that write through the durable write queue (@realtime/client's createWriteQueue),
// as a browser tab of a signed-in user does, over a network that fails them: requests
// that never leave, answers lost after the server applied the write, slow answers,
// spells with no network at all, and reloads (the queue closed and made again over the
// same store, what a reload does with IndexedDB). Each client creates, updates and
// deletes data_layers rows in the pinned projects, every write with a marker of its own
// (checker.ts, checkQueueWrites), so that the outbox says how many times each write the
// queue was given was applied, whatever the queue believes. This file runs them together;
// one client is queue-writer.ts, its network faulty-network.ts.
import type { Logger } from '@realtime/runtime';
import type { IntendedWrite } from './queue-check';
import type { NetStats } from './faulty-network';
import type { QueueStats, QueueWriterSpec } from './queue-model';
import { QueueWriter } from './queue-writer';
import type { Rng } from './rng';

export { FaultyNetwork, defaultNetFaults, noNetFaults, type NetFaults, type NetStats } from './faulty-network';
export { defaultPace, outcomeOf, uuidFrom, type QueueStats, type QueueWriterPace, type QueueWriterSpec } from './queue-model';
export { QueueWriter, RESOURCE } from './queue-writer';

export interface QueueWritersStats extends QueueStats, NetStats {
  clients: number;
}

/** The run's queue clients, started, paused and drained together. */
export class QueueWriters {
  readonly writers: QueueWriter[];

  constructor(specs: readonly QueueWriterSpec[], r: Rng, log: Logger, note: (line: string) => void = () => undefined) {
    this.writers = specs.map((spec) => new QueueWriter(spec, r.fork(10 + spec.index), log, (line) => note(`queue writer ${spec.index} (${spec.email}): ${line}`)));
  }

  async start(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.stop()));
  }

  /** True when every queue settled by the deadline. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    return (await Promise.all(this.writers.map((w) => w.drain(until)))).every(Boolean);
  }

  async pause(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.pause()));
  }

  resume(): void {
    for (const w of this.writers) w.resume();
  }

  confirmTxids(txids: readonly string[]): void {
    for (const w of this.writers) w.confirmTxids(txids);
  }

  intended(): IntendedWrite[] {
    return this.writers.flatMap((w) => w.intended());
  }

  get actors(): string[] {
    return this.writers.map((w) => w.actor);
  }

  get stats(): QueueWritersStats {
    const total: QueueWritersStats = {
      clients: this.writers.length,
      retries: 0,
      conflicts: 0,
      keptMine: 0,
      tookTheirs: 0,
      rebased: 0,
      disconnects: 0,
      restarts: 0,
      unauthorized: 0,
      confirmed: { response: 0, stream: 0, refetch: 0, expired: 0 },
      requests: 0,
      failedBeforeSending: 0,
      lostResponses: 0,
      delayed: 0,
      offline: 0,
    };
    for (const w of this.writers) {
      for (const k of ['retries', 'conflicts', 'keptMine', 'tookTheirs', 'rebased', 'disconnects', 'restarts', 'unauthorized'] as const) total[k] += w.stats[k];
      for (const k of ['requests', 'failedBeforeSending', 'lostResponses', 'delayed', 'offline'] as const) total[k] += w.net.stats[k];
      for (const k of Object.keys(total.confirmed) as (keyof QueueStats['confirmed'])[]) total.confirmed[k] += w.stats.confirmed[k];
    }
    return total;
  }

  async close(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.close()));
  }
}
