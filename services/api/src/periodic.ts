// A job that runs by itself in `npm start`'s process: a minute after start (or at the
// interval, if shorter: a process restarted more often than the interval still runs it),
// then every interval; never two runs at once; a failed run is logged and the next one
// retries; stop() waits for a run in progress.
import type { Logger } from '@realtime/runtime';

const FIRST_RUN_MS = 60_000;

export interface Periodic {
  stop(): Promise<void>;
  runOnce(): Promise<number>;
}

/** `run` answers how many rows it handled; `failed` is the warning logged when it throws. */
export function startPeriodic(run: () => Promise<number>, opts: { everyMs: number; log: Logger; failed: string }): Periodic {
  let running: Promise<number> | null = null;
  const tick = () => {
    if (running) return;
    running = run()
      .catch((err: unknown) => {
        opts.log.warn({ err }, opts.failed);
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
  return {
    runOnce: run,
    async stop() {
      clearTimeout(timer); // the first run's timeout or the interval: Node clears either
      await running;
    },
  };
}
