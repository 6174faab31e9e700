import { expect, test } from 'vitest';
import { age, ago, countOf, duration, formatCount } from './format';

const now = Date.parse('2026-01-01T00:10:00.000Z');
test.each([
  [undefined, undefined, '—'],
  ['2026-01-01T00:09:30.000Z', null, '30s'],
  ['2026-01-01T00:00:00.000Z', '2026-01-01T00:02:05.000Z', '2m 5s'],
])('duration(%s, %s) = %s', (a, b, out) => {
  expect(duration(a, b, now)).toBe(out);
});
test.each([
  ['2026-01-01T00:09:55.000Z', '5s ago'],
  ['2026-01-01T00:05:00.000Z', '5m ago'],
  ['2025-12-31T22:10:00.000Z', '2h ago'],
])('ago(%s) = %s', (iso, out) => {
  expect(ago(iso, now)).toBe(out);
});
test.each([
  [now - 2000, 'just now'],
  [now - 40_000, '40s ago'],
  [now - 125_000, '2m ago'],
])('age(%s) = %s', (at, out) => {
  expect(age(at, now)).toBe(out);
});
test.each([
  [0, '0'],
  [999, '999'],
  [5008, '5,008'],
  [100_000, '100,000'],
])('formatCount(%s) = %s', (n, out) => {
  expect(formatCount(n)).toBe(out);
});
test.each([
  [1, 'job', undefined, '1 job'],
  [5008, 'job', undefined, '5,008 jobs'],
  [2, 'match', 'matches', '2 matches'],
])('countOf(%s, %s) = %s', (n, one, many, out) => {
  expect(countOf(n, one, many)).toBe(out);
});
