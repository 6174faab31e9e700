import { expect, test } from 'vitest';
import { afterCrash, RESTART_POLICY } from './restart';

test.each([
  // crashes in a row before, how long the worker ran, then: crashes in a row, delay
  [0, 0, 1, 1000],
  [1, 500, 2, 2000],
  [2, 5000, 3, 4000],
  [4, 59_999, 5, 16_000],
  [5, 1000, 6, 30_000],
  [40, 1000, 41, 30_000],
  // A worker that ran a minute was healthy: the crash after it starts the count again.
  [7, 60_000, 1, 1000],
  [0, 3_600_000, 1, 1000],
])('after %i crashes, one after %i ms: %i in a row, restart in %i ms', (crashes, ranMs, inARow, delayMs) => {
  expect(afterCrash(crashes, ranMs, RESTART_POLICY)).toEqual({ crashes: inARow, delayMs });
});
