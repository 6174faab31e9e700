// The lifecycle every process of the stream shares: start, then on SIGTERM or Ctrl-C
// stop in reverse order and exit 0; a failure to start prints what is wrong (which
// names the fix) and exits 1. A signal during start-up stops what has started so far.
// The last line of every process is `stopped`, written once every part (worker threads
// included) has stopped, and flushed before the process exits.
import type { Logger } from './log';

export type Stop = () => Promise<void>;

// Set once a signal starts the stop, and shared with worker threads (signals reach only
// the main thread): from then on, the embedded Postgres, which Ctrl-C stops at the same
// moment, closing connections is expected, and log.ts says so quietly.
let stopFlag = new Int32Array(new SharedArrayBuffer(4));

/** True once the process has begun to stop on a signal. */
export const isStopping = (): boolean => Atomics.load(stopFlag, 0) === 1;

/** The flag's memory, for a worker thread to adopt with adoptStopFlag. */
export const stopFlagBuffer = (): SharedArrayBuffer => stopFlag.buffer as SharedArrayBuffer;

/** In a worker thread: see the stop of the thread that started it. */
export function adoptStopFlag(buffer: SharedArrayBuffer): void {
  stopFlag = new Int32Array(buffer);
}

/** An error for a person: its message (which names the fix) and its causes, no stack. */
export function describeError(err: unknown): string {
  let line = `\nerror: ${(err as Error).message ?? String(err)}\n`;
  for (let c = (err as Error).cause; c instanceof Error; c = c.cause) line += `  caused by: ${c.message}\n`;
  return line;
}

/** Writes the line, waits until the destination has it, then ends the process. */
function finish(log: Logger, code: number): void {
  log.info('stopped');
  // Synchronous destinations have written it already; an asynchronous one (a transport, a
  // destination made elsewhere) is flushed first, so that the last line is never lost.
  log.flush(() => process.exit(code));
}

export async function runProcess(log: Logger, start: () => Promise<Stop>): Promise<void> {
  let starting: Promise<Stop | null> | null = null;
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    Atomics.store(stopFlag, 0, 1);
    log.info({ signal }, 'stopping');
    try {
      // A signal during start-up waits for what is starting, then stops it: `stopped` is
      // never written while a part (a worker thread, a pool) is still coming up.
      const stop = await starting;
      await stop?.();
    } catch (err) {
      log.error({ err }, 'error while stopping');
    }
    finish(log, 0);
  };
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  process.on('SIGINT', () => void onSignal('SIGINT'));
  starting = start().catch((err: unknown) => {
    // Stopped by a signal while starting: the failure is the stop's doing, not news.
    if (stopping) return null;
    process.stderr.write(describeError(err));
    process.exit(1);
  });
  await starting;
}
