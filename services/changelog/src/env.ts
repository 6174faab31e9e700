// The change log's configuration: a piece that every process using the log (the
// replicator that appends to it, the gateways that read it) spreads into its schema, and
// the log it configures. A bad value names its variable.
import { z } from 'zod';
import { redisEnv, type Logger } from '@realtime/runtime';
import { ChangeLog } from './changelog';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `2d` in ms, or null when the text is not one (the API's RETENTION spells durations the same way). */
export function durationMs(text: string): number | null {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Number.isSafeInteger(ms) && ms <= 365 * 86_400_000 ? ms : null;
}

/**
 * The shared change log on Redis Streams: the replicator leader appends every stamped
 * change to it, gateways read their live feed from it. Without REDIS_URL there is none,
 * and nothing of it runs.
 */
export const changelogEnv = {
  ...redisEnv,
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
};

const changelogPiece = z.object(changelogEnv);
/** The change log's variables, as any schema that spreads changelogEnv parses them. */
export type ChangelogSettings = z.infer<typeof changelogPiece>;

/**
 * The change log from CHANGELOG_*; null without REDIS_URL (no log). Not connected yet:
 * its user connects it when it starts.
 */
export function changelogFromEnv(env: ChangelogSettings, log: Logger): ChangeLog | null {
  if (env.REDIS_URL === undefined) return null;
  // Its users say once that the log is lost and once that it is back, for both of the
  // log's connections and for a Redis that is frozen rather than gone; the log's own
  // per-connection lines would repeat it, so only its errors are kept.
  const quiet = log.child({}, { level: 'error' });
  return new ChangeLog({ url: env.REDIS_URL, prefix: env.CHANGELOG_PREFIX, retention: { maxLen: env.CHANGELOG_MAX_ENTRIES, minAgeMs: env.CHANGELOG_RETENTION }, log: quiet });
}
