import { describe, expect, test } from 'vitest';
import { fmt, latencyMs, median, percentile } from '../src/stats';

describe('median', () => {
  test.each([
    [[5], 5],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[10, 10, 1000], 10],
  ])('median of %o is %d', (xs, expected) => {
    expect(median(xs)).toBe(expected);
  });

  test('leaves its input in order', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  test.each([
    [hundred, 50, 51],
    [hundred, 99, 100],
    [hundred, 0, 1],
    [[7], 99, 7],
  ])('p%#', (xs, p, expected) => {
    expect(percentile(xs, p)).toBe(expected);
  });

  test('of nothing is NaN', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('fmt', () => {
  test.each([
    [12515.4, '12,515'],
    [0.6, '1'],
    [52390, '52,390'],
  ])('%d prints as %s', (n, expected) => {
    expect(fmt(n)).toBe(expected);
  });
});

describe('latencyMs', () => {
  const base = Date.parse('2026-12-07T10:00:00.000Z');
  test.each([
    ['milliseconds: the middle of the millisecond', '2026-12-07T10:00:00.003Z', base + 5, 1.5],
    ['microseconds, as the naive design sends them', '2026-12-07T10:00:00.003250+00:00', base + 5, 1.7495],
    ['no fraction: the middle of the second', '2026-12-07T10:00:00Z', base + 1000, 500],
    ['tenths', '2026-12-07T10:00:00.1Z', base + 200, 50],
    ['an offset other than UTC', '2026-12-07T11:00:00.003+01:00', base + 5, 1.5],
    ['a sub-millisecond arrival', '2026-12-07T10:00:00.003Z', base + 3.75, 0.25],
  ])('%s', (_, committedAt, arrived, want) => {
    // Epoch milliseconds in a double keep about a quarter of a microsecond.
    expect(latencyMs(committedAt, arrived)).toBeCloseTo(want, 3);
  });

  test('a time that is not ISO 8601 is named', () => {
    expect(() => latencyMs('yesterday', 0)).toThrow(/committedAt is not an ISO 8601 time: "yesterday"/);
  });
});
