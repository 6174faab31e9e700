import { describe, expect, test } from 'vitest';
import { OwedHeads } from './owed-heads';

type Step = ['owe', number, number, number] | ['overdue', number, number, boolean] | ['due', number | null];

describe('OwedHeads', () => {
  const cases: [string, Step[]][] = [
    ['nothing owed: never overdue', [['due', null], ['overdue', 10_000, 0, false]]],
    ['a head the log delivers in time', [['owe', 5, 0, 0], ['due', 500], ['overdue', 500, 5, false], ['due', null]]],
    ['a head not delivered within the grace', [['owe', 5, 0, 0], ['overdue', 499, 0, false], ['overdue', 500, 4, true], ['due', null]]],
    // The case a single deadline got wrong: steady writes, a log a few milliseconds behind.
    [
      'steady heads, each delivered a few ms after it showed: none is late',
      [['owe', 1, 0, 0], ['owe', 2, 300, 1], ['owe', 3, 499, 2], ['overdue', 500, 2, false], ['due', 999], ['overdue', 999, 3, false], ['due', null]],
    ],
    ['a later head gets its own grace, an earlier one keeps its own', [['owe', 1, 0, 0], ['owe', 9, 400, 0], ['overdue', 500, 1, false], ['due', 900], ['overdue', 900, 8, true]]],
    ['a head at or below the position, or below one owed, adds nothing', [['owe', 3, 0, 3], ['due', null], ['owe', 5, 10, 3], ['owe', 4, 20, 3], ['owe', 5, 30, 3], ['due', 510]]],
    ['overdue settles everything owed (the outbox read covers it)', [['owe', 1, 0, 0], ['owe', 2, 100, 0], ['overdue', 500, 0, true], ['due', null], ['overdue', 600, 0, false]]],
  ];
  for (const [name, steps] of cases) {
    test(name, () => {
      const o = new OwedHeads(500);
      for (const step of steps) {
        if (step[0] === 'owe') o.owe(step[1], step[2], step[3]);
        else if (step[0] === 'overdue') expect(o.overdue(step[1], step[2])).toBe(step[3]);
        else expect(o.due).toBe(step[1]);
      }
    });
  }

  test('a long run of heads delivered as they come stays small', () => {
    const o = new OwedHeads(500);
    for (let i = 1; i <= 100_000; i++) o.owe(i, i, i - 1);
    expect(o.size).toBe(1);
    expect(o.overdue(100_000 + 500, 99_999)).toBe(true);
    expect(o.size).toBe(0);
  });
});
