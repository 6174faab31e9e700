import { describe, expect, test } from 'vitest';
import { MAX_PENDING_SPAN, SINCE_AHEAD_MARGIN, admitResume, type Admission } from './admit';

describe('admitResume', () => {
  const feed = 5_000;
  test.each<[string, number, { lo: number; hi: number } | null, Admission]>([
    ['from the start', 0, null, 'read'],
    ['behind the feed', 4_000, null, 'read'],
    ['at the feed', feed, null, 'read'],
    ['one ahead (a stamp ahead, another gateway)', feed + 1, null, 'wait-for-feed'],
    ['at the margin', feed + SINCE_AHEAD_MARGIN, null, 'wait-for-feed'],
    ['one past the margin', feed + SINCE_AHEAD_MARGIN + 1, null, 'history-changed'],
    ['far above the head', 2 ** 40, null, 'history-changed'],
    ['far above, with a wide pending range too', 2 ** 40, { lo: 1, hi: 10 ** 9 }, 'history-changed'],
    ['a narrow pending range', 4_000, { lo: 100, hi: 120 }, 'read'],
    ['a pending range of exactly the widest', 4_000, { lo: 1, hi: MAX_PENDING_SPAN }, 'read'],
    ['a pending range one wider', 4_000, { lo: 1, hi: MAX_PENDING_SPAN + 1 }, 'unavailable'],
    ['the whole outbox as pending', 4_000, { lo: 1, hi: 500_000 }, 'unavailable'],
    ['a wide range ahead of the feed: refused before any wait', feed + 1, { lo: 1, hi: 500_000 }, 'unavailable'],
  ])('%s', (_name, from, pending, expected) => {
    expect(admitResume(from, feed, pending)).toBe(expected);
  });
  test('the margin and the span are parameters', () => {
    expect(admitResume(11, 10, null, 0)).toBe('history-changed');
    expect(admitResume(10, 10, { lo: 1, hi: 3 }, 0, 2)).toBe('unavailable');
  });
});
