// Retention that runs by itself (RETENTION, 30d unless `forever`): a minute after start and
// then every interval, prune the stamped changes committed before the cutoff. Clients
// behind the new floor get resync; a list read after it still carries the head.
import type pg from 'pg';
import type { Logger } from '@realtime/db';
import { planPrune, prune } from './commands';

/** The first run comes this soon after start (or at the interval, if shorter): a process restarted more often than the interval still prunes. */
const FIRST_RUN_MS = 60_000;

export function startRetention(pool: pg.Pool, opts: { keepMs: number; everyMs: number; log: Logger }): { stop(): Promise<void>; runOnce(): Promise<number> } {
  let running: Promise<number> | null = null;
  const runOnce = async (): Promise<number> => {
    const plan = await planPrune(pool, { olderThanMs: opts.keepMs });
    if (plan.count === 0) return 0;
    const deleted = await prune(pool, plan);
    opts.log.info({ deleted, floor: plan.toSeq }, 'retention pruned old changes');
    return deleted;
  };
  const tick = () => {
    if (running) return;
    running = runOnce()
      .catch((err: unknown) => {
        opts.log.warn({ err }, 'retention run failed; the next one retries');
        return 0;
      })
      .finally(() => (running = null));
  };
  let timer: NodeJS.Timeout = setTimeout(() => {
    tick();
    timer = setInterval(tick, opts.everyMs);
    timer.unref();
  }, Math.min(FIRST_RUN_MS, opts.everyMs));
  timer.unref();
  opts.log.info({ keepMs: opts.keepMs, everyMs: opts.everyMs }, 'retention on: stamped changes older than keepMs are pruned every everyMs (RETENTION=forever keeps them)');
  return {
    runOnce,
    async stop() {
      clearTimeout(timer); // the first run's timeout or the interval: Node clears either
      await running;
    },
  };
}
