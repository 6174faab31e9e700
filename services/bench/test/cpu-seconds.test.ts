import { expect, test } from 'vitest';
import { cpuSeconds } from '../src/scale-storm';

test('cpuSeconds: what a process has spent, growing as it works; null for a process that is not there', () => {
  const before = cpuSeconds(process.pid);
  expect(before).not.toBeNull();
  // Busy until the kernel's tick (10 ms) shows it, whatever the machine's load.
  let after = before!;
  for (let spin = 0; after <= before! && spin < 1e9; spin++) after = cpuSeconds(process.pid)!;
  expect(after).toBeGreaterThan(before!);
  expect(cpuSeconds(2 ** 22 + 1)).toBeNull();
  expect(cpuSeconds(undefined)).toBeNull();
});
