// The replicator's configuration: its own variables (a piece any process that runs a
// replicator spreads into its schema), and the schema of `npm run replicator`, composed
// from the database's and the runtime's pieces. A bad value names its variable.
import { z } from 'zod';
import { dbEnv, demoEnv } from '@realtime/db';
import { listenEnv, logEnv, metricsEnv, parseEnv } from '@realtime/runtime';

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

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `2d` in ms, or null when the text is not one (the API's RETENTION spells durations the same way). */
export function durationMs(text: string): number | null {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Number.isSafeInteger(ms) && ms <= 365 * 86_400_000 ? ms : null;
}

/**
 * The shared change log on Redis Streams that the leader appends every stamped change to
 * (src/changelog/). Without REDIS_URL there is none, and nothing of it runs.
 */
export const changelogEnv = {
  REDIS_URL: z.preprocess(
    // An empty value (`REDIS_URL=` in a compose file) is no value.
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .refine((v) => /^rediss?:\/\/[^/\s]/.test(v) && URL.canParse(v), 'a redis:// or rediss:// URL (redis://[user:password@]host:6379[/db]); leave it unset to run without the change log')
      .optional(),
  ),
  /** Every entry appended less than this long ago is kept (and the newest CHANGELOG_MAX_ENTRIES whatever their age). */
  CHANGELOG_RETENTION: z
    .string()
    .default('1h')
    .transform((v, ctx) => {
      const ms = durationMs(v);
      if (ms === null) ctx.addIssue({ code: 'custom', message: `not a duration: "${v}" (a number and a unit, at most a year: 90s, 15m, 1h, 2d)` });
      return ms ?? 0;
    }),
  CHANGELOG_MAX_ENTRIES: int(1, 100_000_000, 100_000),
  CHANGELOG_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}:.-]{1,64}$/, 'up to 64 letters, digits and _ { } : . - (e.g. realtime, or {realtime} on Redis Cluster)')
    .default('realtime'),
};

/** `npm run replicator`: the database, the log, its HTTP face, demo data, and the replicator's own. */
export const replicatorEnvSchema = z.object({ ...logEnv, ...dbEnv, ...demoEnv, ...listenEnv, ...metricsEnv, ...replicatorEnv, ...changelogEnv });
export type ReplicatorEnv = z.infer<typeof replicatorEnvSchema>;

const replicatorPiece = z.object(replicatorEnv);
/** The replicator's own variables, as any schema that spreads replicatorEnv parses them. */
export type ReplicatorSettings = z.infer<typeof replicatorPiece>;

const changelogPiece = z.object(changelogEnv);
/** The change log's variables, as any schema that spreads changelogEnv parses them. */
export type ChangelogSettings = z.infer<typeof changelogPiece>;

export function loadReplicatorEnv(source: Record<string, string | undefined> = process.env): ReplicatorEnv {
  return parseEnv(replicatorEnvSchema, source);
}
