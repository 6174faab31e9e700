import { expect, test } from 'vitest';
import { WindowCounts } from './window';

type Step = ['incr' | 'read', string, number, { current: number; ttl: number }];

test.each<[string, Step[]]>([
  ['a window starts at its first count and counts up', [['incr', 'k', 0, { current: 1, ttl: 1000 }], ['incr', 'k', 400, { current: 2, ttl: 600 }], ['read', 'k', 500, { current: 2, ttl: 500 }]]],
  ['a window that ended starts over', [['incr', 'k', 0, { current: 1, ttl: 1000 }], ['read', 'k', 1000, { current: 0, ttl: 0 }], ['incr', 'k', 1000, { current: 1, ttl: 1000 }]]],
  ['keys count apart', [['incr', 'a', 0, { current: 1, ttl: 1000 }], ['incr', 'b', 10, { current: 1, ttl: 1000 }], ['read', 'a', 20, { current: 1, ttl: 980 }]]],
  ['a read counts nothing', [['read', 'k', 0, { current: 0, ttl: 0 }], ['incr', 'k', 0, { current: 1, ttl: 1000 }]]],
])('%s', (_name, steps) => {
  const w = new WindowCounts();
  for (const [op, key, now, want] of steps) expect(op === 'incr' ? w.incr(key, now, 1000) : w.read(key, now)).toEqual(want);
});

test('past its bound the oldest key goes, and memory stays bounded', () => {
  const w = new WindowCounts(2);
  w.incr('a', 0, 1000);
  w.incr('b', 0, 1000);
  w.incr('c', 0, 1000);
  expect(w.size).toBe(2);
  expect(w.read('a', 1)).toEqual({ current: 0, ttl: 0 });
  expect(w.read('c', 1)).toEqual({ current: 1, ttl: 999 });
});
