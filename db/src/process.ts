// The lifecycle every process of the stream shares: start, then on SIGTERM or Ctrl-C
// stop in reverse order and exit 0; a failure to start prints what is wrong (which
// names the fix) and exits 1. A signal during start-up stops what has started so far.
import type { Logger } from './log';
import { describeError } from './cli/run';

export type Stop = () => Promise<void>;

export async function runProcess(log: Logger, start: () => Promise<Stop>): Promise<void> {
  let stop: Stop | null = null;
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    try {
      await stop?.();
    } catch (err) {
      log.error({ err }, 'error while stopping');
    }
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
