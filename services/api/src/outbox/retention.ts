// Retention that runs by itself (RETENTION=30d): every interval, prune the stamped
// changes committed before the cutoff. Clients behind the new floor get resync.
import type pg from 'pg';
import type { Logger } from '@realtime/db';
import { planPrune, prune } from './commands';

export function startRetention(pool: pg.Pool, opts: { keepMs: number; everyMs: number; log: Logger }): { stop(): Promise<void>; runOnce(): Promise<number> } {
  let running: Promise<number> | null = null;
  const runOnce = async (): Promise<number> => {
    const plan = await planPrune(pool, { olderThanMs: opts.keepMs });
    if (plan.count === 0) return 0;
    const deleted = await prune(pool, plan);
    opts.log.info({ deleted, floor: plan.toSeq }, 'retention pruned old changes');
    return deleted;
  };
  const timer = setInterval(() => {
    if (running) return;
    running = runOnce()
      .catch((err: unknown) => {
        opts.log.warn({ err }, 'retention run failed; the next one retries');
        return 0;
      })
      .finally(() => (running = null));
  }, opts.everyMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
