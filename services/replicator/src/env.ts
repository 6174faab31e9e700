// The replicator's configuration: the database variables plus its own, validated once.
// A bad value stops the process with the variable's name and what it expects.
import { z } from 'zod';
import { dbEnvSchema, parseEnv } from '@realtime/db';

const identifier = (what: string) =>
  z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, `${what} names may use lowercase letters, digits and underscores (at most 63), starting with a letter or underscore`);

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

export const replicatorEnvSchema = dbEnvSchema.extend({
  REPLICATION_SLOT: identifier('replication slot').default('realtime_outbox'),
  PUBLICATION: identifier('publication').default('realtime_outbox'),
  STAMP_BATCH_SIZE: int(1, 100_000, 5000),
  /** 0: stamp as soon as the previous stamp returns; a linger only helps a disk slower than the write rate. */
  STAMP_LINGER_MS: int(0, 1000, 0),
  /**
   * `async`: WAL-mode stamps go out at commit and the slot is acknowledged once they are
   * flushed (a successor renumbers lost ones identically); `sync`: each stamp waits for
   * the disk first. NOTIFY-mode stamps always wait.
   */
  STAMP_COMMIT: z.enum(['async', 'sync']).default('async'),
  /** 1: whole transactions go out numbered from the WAL before their stamp runs (sequencer/early.ts); 0: after it. */
  STAMP_EARLY: z.enum(['0', '1']).default('1'),
  SAFETY_POLL_MS: int(50, 60_000, 1000),
  WAL_RETRY_MS: int(500, 600_000, 10_000),
  PORT: int(0, 65_535, 3000),
  /**
   * The address the HTTP server listens on: this machine only by default, so that a demo
   * (plain HTTP, printed passwords) is not served to the network by accident. 0.0.0.0 (or ::)
   * in a container or behind a proxy on another host.
   */
  HOST: z
    .string()
    .trim()
    .regex(/^(?:[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+)$/, 'HOST is an address to listen on, such as 127.0.0.1, 0.0.0.0, :: or a host name')
    .default('127.0.0.1'),
  DEMO: z.enum(['0', '1']).default('1'),
  /**
   * `npm start` with REPLICATOR=1: 1 runs the replicator in a worker thread, off the event
   * loop of the sockets and the API; 0 on the main thread (for debugging). A replicator
   * process of its own ignores it.
   */
  REPLICATOR_THREAD: z.enum(['0', '1']).default('1'),
  /** `Authorization: Bearer <METRICS_TOKEN>` reads /metrics (and, in a process without users, /status). */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
});

export type ReplicatorEnv = z.infer<typeof replicatorEnvSchema>;

export function loadReplicatorEnv(source: Record<string, string | undefined> = process.env): ReplicatorEnv {
  return parseEnv(replicatorEnvSchema, source);
}
