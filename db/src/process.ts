// The lifecycle every process of the stream shares: start, then on SIGTERM or Ctrl-C
// stop in reverse order and exit 0; a failure to start prints what is wrong (which
// names the fix) and exits 1. A signal during start-up stops what has started so far.
import type { Logger } from './log';
import { describeError } from './cli/run';

export type Stop = () => Promise<void>;

// Set once a signal starts the stop, and shared with worker threads (signals reach only
// the main thread): from then on, the embedded Postgres, which Ctrl-C stops at the same
// moment, closing connections is expected, and db/src/log.ts says so quietly.
let stopFlag = new Int32Array(new SharedArrayBuffer(4));

/** True once the process has begun to stop on a signal. */
export const isStopping = (): boolean => Atomics.load(stopFlag, 0) === 1;

/** The flag's memory, for a worker thread to adopt with adoptStopFlag. */
export const stopFlagBuffer = (): SharedArrayBuffer => stopFlag.buffer as SharedArrayBuffer;

/** In a worker thread: see the stop of the thread that started it. */
export function adoptStopFlag(buffer: SharedArrayBuffer): void {
  stopFlag = new Int32Array(buffer);
}

export async function runProcess(log: Logger, start: () => Promise<Stop>): Promise<void> {
  let stop: Stop | null = null;
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    Atomics.store(stopFlag, 0, 1);
    log.info({ signal }, 'stopping');
    try {
      await stop?.();
    } catch (err) {
      log.error({ err }, 'error while stopping');
      process.exit(0);
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  process.on('SIGINT', () => void onSignal('SIGINT'));
  try {
    stop = await start();
  } catch (err) {
    process.stderr.write(describeError(err));
    process.exit(1);
  }
}

/** Loads the configuration, or prints what is wrong with it (naming the variable) and exits 1. */
export function loadEnvOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
