import { describe, expect, test } from 'vitest';
import { bucketsBetween, fmt, histogramBuckets, histogramQuantile, latencyMs, median, percentile, type Buckets } from '../src/stats';

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

describe('histogramQuantile', () => {
  const b = (...pairs: [number, number][]): Buckets => pairs;
  test.each<[string, number, Buckets, number | null]>([
    ['no observations', 0.99, b([0.005, 0], [0.01, 0], [Infinity, 0]), null],
    ['no buckets', 0.5, b(), null],
    ['inside the first bucket, from 0', 0.5, b([0.01, 100], [Infinity, 100]), 0.005],
    ['interpolated in the bucket that holds the rank', 0.99, b([0.005, 90], [0.01, 98], [0.025, 100], [Infinity, 100]), 0.0175],
    ['at a bound exactly', 0.9, b([0.005, 90], [0.01, 100], [Infinity, 100]), 0.005],
    ['past the last finite bound: that bound', 0.99, b([0.005, 50], [0.01, 90], [Infinity, 100]), 0.01],
    ['the median of a histogram of one bucket', 0.5, b([1, 4], [Infinity, 4]), 0.5],
  ])('%s', (_, q, buckets, want) => {
    const got = histogramQuantile(q, buckets);
    if (want === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(want, 10);
  });
});

describe('bucketsBetween', () => {
  test('subtracts bound by bound; a bound the earlier reading lacks counts from 0', () => {
    expect(bucketsBetween([[0.01, 5], [Infinity, 7]], [[0.005, 2], [0.01, 9], [Infinity, 15]])).toEqual([[0.005, 2], [0.01, 4], [Infinity, 8]]);
  });
});

describe('histogramBuckets', () => {
  test('reads one histogram, sums its series bound by bound, and sorts +Inf last', () => {
    const text = [
      '# HELP realtime_delivery_latency_seconds From commit to the socket.',
      '# TYPE realtime_delivery_latency_seconds histogram',
      'realtime_delivery_latency_seconds_bucket{le="+Inf",channel="a"} 10',
      'realtime_delivery_latency_seconds_bucket{le="0.005",channel="a"} 4',
      'realtime_delivery_latency_seconds_bucket{channel="b",le="0.005"} 1',
      'realtime_delivery_latency_seconds_bucket{channel="b",le="+Inf"} 2',
      'realtime_delivery_latency_seconds_sum 0.5',
      'realtime_delivery_latency_seconds_count 12',
      'realtime_fanout_latency_seconds_bucket{le="0.005"} 99',
    ].join('\n');
    expect(histogramBuckets(text, 'realtime_delivery_latency_seconds')).toEqual([[0.005, 5], [Infinity, 12]]);
    expect(histogramBuckets(text, 'realtime_other_seconds')).toEqual([]);
  });
});
