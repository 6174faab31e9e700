import { describe, expect, test } from 'vitest';
import type { ChangeEvent } from '@realtime/protocol';
import { newestFirst, reduce, type LiveList, type Row } from './reducer';

const row = (id: string, extra: Record<string, unknown> = {}): Row => ({ id, createdAt: `2026-01-0${id.length}T00:00:00.000Z`, ...extra });
const ev = (seq: number, op: ChangeEvent['op'], r: Row | null, old: Row | null = null): ChangeEvent => ({ sub: 's', seq, channel: 'extraction_jobs', op, row: r, old, committedAt: '' });
const list = (items: Row[], seq = 0): LiveList => ({ items, seq });
const ids = (l: LiveList) => l.items.map((r) => r.id);

describe('reduce', () => {
  test.each([
    ['INSERT adds', list([row('a')]), [ev(1, 'INSERT', row('b'))], ['b', 'a'], 1],
    ['UPDATE merges', list([row('a', { progress: 0, name: 'x' })]), [ev(1, 'UPDATE', row('a', { progress: 40 }))], ['a'], 1],
    ['DELETE removes by the old row', list([row('a'), row('b')]), [ev(1, 'DELETE', null, row('a'))], ['b'], 1],
    ['a move in (INSERT) of a known row replaces it', list([row('a', { v: 1 })]), [ev(1, 'INSERT', row('a', { v: 2 }))], ['a'], 1],
    ['an UPDATE of an unknown row adds it', list([]), [ev(1, 'UPDATE', row('a'))], ['a'], 1],
    ['a move out (DELETE) of an unknown row is harmless', list([row('b')]), [ev(1, 'DELETE', null, row('a'))], ['b'], 1],
    ['a duplicate is ignored by seq', list([row('a')], 5), [ev(5, 'DELETE', null, row('a'))], ['a'], 5],
    ['out-of-order input is ignored by seq', list([], 0), [ev(2, 'INSERT', row('a')), ev(1, 'INSERT', row('b'))], ['a'], 2],
    ['replayed changes the list already had change nothing', list([row('a')], 10), [ev(9, 'INSERT', row('z')), ev(10, 'UPDATE', row('a', { v: 9 }))], ['a'], 10],
  ] as const)('%s', (_n, before, events, expectedIds, expectedSeq) => {
    const after = reduce(before, [...events]);
    expect(ids(after)).toEqual(expectedIds);
    expect(after.seq).toBe(expectedSeq);
  });

  test('UPDATE keeps fields the change does not carry', () => {
    const after = reduce(list([row('a', { name: 'x', progress: 0 })]), [ev(1, 'UPDATE', row('a', { progress: 40 }))]);
    expect(after.items[0]).toMatchObject({ name: 'x', progress: 40 });
  });

  test('nothing applied returns the same object (no re-render)', () => {
    const before = list([row('a')], 3);
    expect(reduce(before, [ev(2, 'INSERT', row('b'))])).toBe(before);
  });

  test('custom handlers replace the default for their op', () => {
    const after = reduce(list([row('a')]), [ev(1, 'INSERT', row('b'))], { handlers: { INSERT: (items, e) => [...items, e.row as Row] } });
    expect(ids(after)).toEqual(['a', 'b']);
  });

  test('a compare keeps the order (newest createdAt first)', () => {
    const a = { id: 'a', createdAt: '2026-01-01T00:00:00.000Z' };
    const b = { id: 'b', createdAt: '2026-01-03T00:00:00.000Z' };
    const c = { id: 'c', createdAt: '2026-01-02T00:00:00.000Z' };
    const after = reduce(list([b, a]), [ev(1, 'INSERT', c)], { compare: newestFirst });
    expect(ids(after)).toEqual(['b', 'c', 'a']);
  });
});
