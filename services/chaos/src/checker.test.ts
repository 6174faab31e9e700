import { describe, expect, test } from 'vitest';
import { canonical, checkDelivery, checkOutbox, compareCache } from './checker';

describe('checkDelivery', () => {
  test.each([
    { name: 'exact', received: [1, 3, 5], expected: [1, 3, 5], complete: true, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'nothing owed, nothing sent', received: [], expected: [], complete: true, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'a gap', received: [1, 5], expected: [1, 3, 5], complete: true, want: { lost: 1, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'the tail missing at the end of the run', received: [1, 3], expected: [1, 3, 5], complete: true, want: { lost: 1, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'the tail not owed before a resync', received: [1, 3], expected: [1, 3, 5], complete: false, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'a gap before a resync', received: [1, 5], expected: [1, 3, 5, 7], complete: false, want: { lost: 1, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'a resync before any change', received: [], expected: [2, 4], complete: false, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 } },
    { name: 'a repeat at the seam', received: [1, 3, 3, 5], expected: [1, 3, 5], complete: true, want: { lost: 0, duplicated: 1, outOfOrder: 0, unexpected: 0 } },
    { name: 'a replay from the start again', received: [1, 3, 5, 1, 3, 5], expected: [1, 3, 5], complete: true, want: { lost: 0, duplicated: 3, outOfOrder: 1, unexpected: 0 } },
    { name: 'swapped', received: [1, 5, 3], expected: [1, 3, 5], complete: true, want: { lost: 0, duplicated: 0, outOfOrder: 1, unexpected: 0 } },
    { name: 'outside the filter', received: [1, 2, 3], expected: [1, 3], complete: true, want: { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 1 } },
  ])('$name', ({ received, expected, complete, want }) => {
    const f = checkDelivery(received, expected, complete);
    expect({ lost: f.lost, duplicated: f.duplicated, outOfOrder: f.outOfOrder, unexpected: f.unexpected }).toEqual(want);
    const clean = Object.values(want).every((n) => n === 0);
    expect(f.first === null).toBe(clean);
  });

  test('the first problem is named with its seq', () => {
    expect(checkDelivery([1, 5], [1, 3, 5], true, 'sub 7').first).toBe('sub 7: seq 3 never received');
  });
});

describe('compareCache', () => {
  const a = { id: 'a', name: 'x', meta: { k: 1, j: 2 } };
  test.each([
    { name: 'equal, key order aside', cache: [{ meta: { j: 2, k: 1 }, name: 'x', id: 'a' }], fresh: [a], want: [0, 0, 0] },
    { name: 'missing row', cache: [], fresh: [a], want: [1, 0, 0] },
    { name: 'extra row', cache: [a], fresh: [], want: [0, 1, 0] },
    { name: 'stale value', cache: [{ ...a, name: 'old' }], fresh: [a], want: [0, 0, 1] },
    { name: 'nested difference', cache: [{ ...a, meta: { k: 1 } }], fresh: [a], want: [0, 0, 1] },
  ])('$name', ({ cache, fresh, want }) => {
    const d = compareCache(cache, fresh);
    expect([d.missing, d.extra, d.differing]).toEqual(want);
  });

  test('canonical ignores key order, keeps array order', () => {
    expect(canonical({ b: 1, a: [2, 1] })).toBe(canonical({ a: [2, 1], b: 1 }));
    expect(canonical({ a: [1, 2] })).not.toBe(canonical({ a: [2, 1] }));
  });
});

describe('checkOutbox', () => {
  test.each([
    { name: 'dense', facts: { rows: 3, stamped: 3, distinct: 3, min: 1, max: 3 }, problems: 0 },
    { name: 'empty', facts: { rows: 0, stamped: 0, distinct: 0, min: null, max: null }, problems: 0 },
    { name: 'unstamped', facts: { rows: 4, stamped: 3, distinct: 3, min: 1, max: 3 }, problems: 1 },
    { name: 'given twice', facts: { rows: 3, stamped: 3, distinct: 2, min: 1, max: 2 }, problems: 2 },
    { name: 'a hole', facts: { rows: 3, stamped: 3, distinct: 3, min: 1, max: 4 }, problems: 1 },
    { name: 'not from 1', facts: { rows: 3, stamped: 3, distinct: 3, min: 2, max: 4 }, problems: 1 },
  ])('$name', ({ facts, problems }) => {
    expect(checkOutbox(facts)).toHaveLength(problems);
  });
});
