// Retention that runs by itself (RETENTION, 30d unless `forever`): a minute after start and
// then every interval, prune the stamped changes committed before the cutoff. Clients
// behind the new floor get resync; a list read after it still carries the head.
import type pg from 'pg';
import type { Logger } from '@realtime/runtime';
import { planPrune, prune } from './commands';
import { startPeriodic, type Periodic } from '../periodic';

export function startRetention(pool: pg.Pool, opts: { keepMs: number; everyMs: number; log: Logger }): Periodic {
  const runOnce = async (): Promise<number> => {
    const plan = await planPrune(pool, { olderThanMs: opts.keepMs });
    if (plan.count === 0) return 0;
    const deleted = await prune(pool, plan);
    opts.log.info({ deleted, floor: plan.toSeq }, 'retention pruned old changes');
    return deleted;
  };
  opts.log.info({ keepMs: opts.keepMs, everyMs: opts.everyMs }, 'retention on: stamped changes older than keepMs are pruned every everyMs (RETENTION=forever keeps them)');
  return startPeriodic(runOnce, { everyMs: opts.everyMs, log: opts.log, failed: 'retention run failed; the next one retries' });
}
