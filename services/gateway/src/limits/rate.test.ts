import { describe, expect, test } from 'vitest';
import { TokenBucket } from './rate';

describe('TokenBucket', () => {
  const cases: { name: string; perSecond: number; burst?: number; takes: number[]; expected: boolean[] }[] = [
    { name: 'a burst of the rate, then refused', perSecond: 3, takes: [0, 0, 0, 0], expected: [true, true, true, false] },
    { name: 'refills at the rate', perSecond: 2, takes: [0, 0, 0, 499, 500, 500], expected: [true, true, false, false, true, false] },
    { name: 'never more than the burst after a long pause', perSecond: 2, takes: [0, 10_000, 10_000, 10_000], expected: [true, true, true, false] },
    { name: 'a larger burst', perSecond: 1, burst: 4, takes: [0, 0, 0, 0, 0, 1000], expected: [true, true, true, true, false, true] },
    { name: 'a clock that goes back does not mint tokens', perSecond: 1, takes: [1000, 0, 0], expected: [true, false, false] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const b = new TokenBucket(c.perSecond, c.burst, c.takes[0]);
      expect(c.takes.map((t) => b.take(t))).toEqual(c.expected);
    });
  }
});
