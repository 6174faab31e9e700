// When a replicator thread that crashed is started again: a delay that doubles from 1 s
// to 30 s while crashes follow each other, and starts over after a worker that ran a while.
export interface RestartPolicy {
  firstMs: number;
  maxMs: number;
  /** A worker that ran this long before it crashed was healthy: the next delay is the first again. */
  healthyAfterMs: number;
}

export const RESTART_POLICY: RestartPolicy = { firstMs: 1000, maxMs: 30_000, healthyAfterMs: 60_000 };

/** After a crash of a worker that ran `ranMs`, following `crashes` crashes in a row: the new count and the delay. */
export function afterCrash(crashes: number, ranMs: number, policy: RestartPolicy = RESTART_POLICY): { crashes: number; delayMs: number } {
  const inARow = ranMs >= policy.healthyAfterMs ? 1 : crashes + 1;
  return { crashes: inARow, delayMs: Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(inARow - 1, 30)) };
}
