// statement_timeout as Postgres writes it in a role's settings, in ms.
import { expect, test } from 'vitest';
import { timeoutMs } from './statement-timeout';

test.each<[string, number | null]>([
  ['15000ms', 15_000],
  ['15000', 15_000],
  ['15s', 15_000],
  ['2min', 120_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
  ['0', 0],
  ['1500us', 1.5],
  ['soon', null],
  ['', null],
])('%s', (text, ms) => {
  expect(timeoutMs(text)).toBe(ms);
});
