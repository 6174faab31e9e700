import { describe, expect, test } from 'vitest';
import { gapVerdict, pendingVerdict, resumeVerdict, worst, type Position, type Verdict } from './history';

describe('resumeVerdict: a position against the outbox (floor, head, the row at its seq)', () => {
  const b = { floor: 10, head: 100 };
  const cases: [string, Position, { floor: number; head: number }, string | null, Verdict][] = [
    ['nothing seen, nothing pruned', { seq: 0, fp: null }, { floor: 0, head: 100 }, null, 'ok'],
    ['nothing seen, some pruned: retention', { seq: 0, fp: null }, b, null, 'retention'],
    ['the same row at its seq', { seq: 50, fp: 'F50' }, b, 'F50', 'ok'],
    ['another row at its seq (restored, rolled back, another database)', { seq: 50, fp: 'F50' }, b, 'G50', 'history-changed'],
    ['no row at its seq within (floor, head]: removed by hand', { seq: 50, fp: 'F50' }, b, null, 'history-changed'],
    ['the head itself, same row', { seq: 100, fp: 'F100' }, b, 'F100', 'ok'],
    ['above the head: the stream never reached it here', { seq: 101, fp: 'F101' }, b, null, 'history-changed'],
    ['below the floor: retention, as before', { seq: 9, fp: 'F9' }, b, null, 'retention'],
    ['below the floor, even with its row kept (a membership change): retention', { seq: 5, fp: 'F5' }, b, 'F5', 'retention'],
    ['at the floor, its row pruned: nothing to compare, nothing missing', { seq: 10, fp: 'F10' }, b, null, 'ok'],
    ['at the floor, a cursor read when everything was pruned (no fingerprint)', { seq: 10, fp: null }, b, null, 'ok'],
    ['at the floor, its row kept: compared', { seq: 10, fp: 'F10' }, b, 'X10', 'history-changed'],
    ['a position without a fingerprint where a row exists: cannot be checked', { seq: 50, fp: null }, b, 'F50', 'history-changed'],
    ['an empty stream, a position in it', { seq: 3, fp: 'F3' }, { floor: 0, head: 0 }, null, 'history-changed'],
  ];
  for (const [name, pos, bounds, row, verdict] of cases) test(name, () => expect(resumeVerdict(pos, bounds, row)).toBe(verdict));
});

describe('gapVerdict: every seq of the replay range has its row', () => {
  test.each([
    [10, 20, 10, 'ok'],
    [10, 20, 9, 'history-changed'],
    [0, 5, 5, 'ok'],
    [0, 5, 0, 'history-changed'],
    [20, 20, 0, 'ok'],
    [30, 20, 0, 'ok'],
  ] as const)('(%i, %i] with %i rows: %s', (from, head, rows, verdict) => {
    expect(gapVerdict(from, head, rows)).toBe(verdict);
  });
});

test('worst: history-changed over retention over ok', () => {
  expect(worst([])).toBe('ok');
  expect(worst(['ok', 'ok'])).toBe('ok');
  expect(worst(['ok', 'retention'])).toBe('retention');
  expect(worst(['retention', 'history-changed', 'ok'])).toBe('history-changed');
});

describe('pendingVerdict: the rows a list saw committed but unstamped are the same rows now', () => {
  test.each([
    ['no pending rows in the cursor: nothing to check', null, null, 50, 10, 'ok'],
    ['the same digest', 'aaaa', 'aaaa', 50, 10, 'ok'],
    ['one lost (the range reads back fewer rows)', 'aaaa', 'bbbb', 50, 10, 'history-changed'],
    ['all lost (nothing reads back)', 'aaaa', null, 50, 10, 'history-changed'],
    ['the head below the floor: retention decides, the rows may be pruned', 'aaaa', null, 5, 10, 'ok'],
    ['the head at the floor: still checked', 'aaaa', 'bbbb', 10, 10, 'history-changed'],
  ] as const)('%s', (_name, expected, found, head, floor, verdict) => {
    expect(pendingVerdict(expected, found, head, floor)).toBe(verdict);
  });
});
