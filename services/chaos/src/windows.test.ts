import { describe, expect, test } from 'vitest';
import { compareWindow, planWindows } from './windows';

const row = (id: string, name = id) => ({ id, name });

describe('compareWindow', () => {
  test.each([
    ['equal', [row('a'), row('b')], [row('a'), row('b')], 2, 2, { missing: 0, extra: 0, misplaced: 0, differing: 0, totalOff: false }],
    ['a row missing', [row('a')], [row('a'), row('b')], 2, 2, { missing: 1 }],
    ['a row too many', [row('a'), row('z')], [row('a')], 1, 1, { extra: 1 }],
    ['two rows swapped', [row('b'), row('a')], [row('a'), row('b')], 2, 2, { misplaced: 2 }],
    ['a row stale', [row('a', 'old')], [row('a', 'new')], 1, 1, { differing: 1 }],
    ['the total off', [row('a')], [row('a')], 5, 6, { totalOff: true }],
  ])('%s', (_name, mine, fresh, total, freshTotal, want) => {
    const d = compareWindow('w', { items: mine, total }, fresh, freshTotal);
    expect(d).toMatchObject(want);
    const bad = d.missing + d.extra + d.misplaced + d.differing + (d.totalOff ? 1 : 0);
    expect(d.first === null).toBe(bad === 0);
  });

  test('the first problem names the row and the place', () => {
    expect(compareWindow('window 2', { items: [row('b'), row('a')], total: 2 }, [row('a'), row('b')], 2).first).toBe('window 2: row a is at place 1 in the window, 0 in the set');
  });
});

test('planWindows: one per pinned project in turn, every other one by status, across the gateways', () => {
  expect(planWindows(4, ['p1', 'p2', 'p3'], 2)).toEqual([
    { index: 1, email: 'chaos-window-1@chaos.test', project: 'p1', status: null, gateway: 0 },
    { index: 2, email: 'chaos-window-2@chaos.test', project: 'p2', status: 'processing', gateway: 1 },
    { index: 3, email: 'chaos-window-3@chaos.test', project: 'p3', status: null, gateway: 0 },
    { index: 4, email: 'chaos-window-4@chaos.test', project: 'p1', status: 'processing', gateway: 1 },
  ]);
});
