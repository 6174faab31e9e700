import { describe, expect, test } from 'vitest';
import { fmt, median, percentile } from '../src/stats';

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
