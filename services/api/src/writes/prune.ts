// Idempotency keys are kept IDEMPOTENCY_TTL_HOURS (at least a day: a client that was
// offline overnight still retries safely), then pruned a minute after start and every
// interval, a batch at a time through the created_at index, as the owner (the API role
// never deletes keys). A key in a write's open transaction is invisible here, so pruning
// waits on no request.
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';
import { startPeriodic, type Periodic } from '../periodic';

const BATCH = 5_000;

/** Deletes the keys created more than `ttlHours` ago; how many went. */
export async function pruneIdempotencyKeys(pool: pg.Pool, ttlHours: number): Promise<number> {
  let total = 0;
  for (;;) {
    // Batches keep each transaction short: a backlog (a long outage of pruning) is not one huge delete.
    const { rowCount } = await pool.query(
      `DELETE FROM idempotency_keys WHERE (user_id, key) IN (
         SELECT user_id, key FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1) ORDER BY created_at LIMIT $2)`,
      [ttlHours, BATCH],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < BATCH) return total;
  }
}

export function startIdempotencyPruning(pool: pg.Pool, opts: { ttlHours: number; everyMs: number; log: Logger }): Periodic {
  const runOnce = async (): Promise<number> => {
    const deleted = await pruneIdempotencyKeys(pool, opts.ttlHours);
    if (deleted > 0) opts.log.info({ deleted, ttlHours: opts.ttlHours }, 'pruned expired idempotency keys');
    return deleted;
  };
  opts.log.info({ ttlHours: opts.ttlHours, everyMs: opts.everyMs }, 'idempotency keys older than ttlHours are pruned every everyMs (IDEMPOTENCY_TTL_HOURS)');
  return startPeriodic(runOnce, { everyMs: opts.everyMs, log: opts.log, failed: 'pruning idempotency keys failed; the next run retries' });
}
