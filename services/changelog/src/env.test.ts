import { expect, test } from 'vitest';
import { durationMs } from './env';

test.each([
  ['90s', 90_000],
  ['15m', 900_000],
  ['1h', 3_600_000],
  ['2d', 172_800_000],
  ['0s', 0],
  ['1 h', 3_600_000],
  ['1', null],
  ['1w', null],
  ['an hour', null],
  ['400d', null],
])('durationMs(%j)', (text, want) => {
  expect(durationMs(text)).toBe(want);
});

