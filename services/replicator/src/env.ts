// The replicator's configuration: its own variables (a piece any process that runs a
// replicator spreads into its schema), and the schema of `npm run replicator`, composed
// from the database's and the runtime's pieces. A bad value names its variable.
import { z } from 'zod';
import { dbEnv, demoEnv } from '@realtime/db';
import { listenEnv, logEnv, metricsEnv, parseEnv } from '@realtime/runtime';
import { changelogEnv } from '@realtime/changelog';

const identifier = (what: string) =>
  z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, `${what} names may use lowercase letters, digits and underscores (at most 63), starting with a letter or underscore`);

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

export const replicatorEnv = {
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
};

/** `npm run replicator`: the database, the log, its HTTP face, demo data, and the replicator's own. */
export const replicatorEnvSchema = z.object({ ...logEnv, ...dbEnv, ...demoEnv, ...listenEnv, ...metricsEnv, ...replicatorEnv, ...changelogEnv });
export type ReplicatorEnv = z.infer<typeof replicatorEnvSchema>;

const replicatorPiece = z.object(replicatorEnv);
/** The replicator's own variables, as any schema that spreads replicatorEnv parses them. */
export type ReplicatorSettings = z.infer<typeof replicatorPiece>;


export function loadReplicatorEnv(source: Record<string, string | undefined> = process.env): ReplicatorEnv {
  return parseEnv(replicatorEnvSchema, source);
}
