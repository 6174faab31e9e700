import { describe, expect, test } from 'vitest';
import { WarnWindow } from './limited';

describe('WarnWindow', () => {
  test.each([
    ['first sight', [['a', 0]], [true]],
    ['again within the window', [['a', 0], ['a', 59_999]], [true, false]],
    ['again after the window', [['a', 0], ['a', 60_000]], [true, true]],
    ['another client', [['a', 0], ['b', 1]], [true, true]],
    ['a repeat does not extend the window', [['a', 0], ['a', 30_000], ['a', 60_000]], [true, false, true]],
  ] as const)('%s', (_name, seen, expected) => {
    const w = new WarnWindow(60_000);
    expect(seen.map(([key, now]) => w.first(key, now))).toEqual(expected);
  });

  test('a spray of clients costs bounded memory: past maxKeys it starts over', () => {
    const w = new WarnWindow(60_000, 3);
    expect(['a', 'b', 'c'].map((k) => w.first(k, 0))).toEqual([true, true, true]);
    expect(w.first('a', 1)).toBe(false);
    expect(w.first('d', 2)).toBe(true);
    expect(w.first('a', 3)).toBe(true);
  });
});
