import { describe, expect, test } from 'vitest';
import type { ChangeEvent } from '@realtime/protocol';
import { newestFirst, reduce, type LiveList, type Row } from './reducer.js';

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
    // UPDATE ... SET id = ...: the change carries the new row and the old one.
    ['a primary key change replaces the old key in place', list([row('a'), row('b'), row('c')]), [ev(1, 'UPDATE', row('x'), row('b'))], ['a', 'x', 'c'], 1],
    ['a primary key change of a row the list lacks adds the new key', list([row('a')]), [ev(1, 'UPDATE', row('x'), row('b'))], ['x', 'a'], 1],
    ['a primary key changed twice in one batch leaves only the last key', list([row('a'), row('b')]), [ev(1, 'UPDATE', row('x'), row('a')), ev(2, 'UPDATE', row('y'), row('x'))], ['y', 'b'], 2],
    ['keys swapped through a third one (a→t, b→a, t→b)', list([row('a', { n: 1 }), row('b', { n: 2 })]), [ev(1, 'UPDATE', row('t', { n: 1 }), row('a')), ev(2, 'UPDATE', row('a', { n: 2 }), row('b')), ev(3, 'UPDATE', row('b', { n: 1 }), row('t'))], ['b', 'a'], 3],
    ['a primary key change onto a key the list still holds keeps one row', list([row('a'), row('b')]), [ev(1, 'UPDATE', row('b'), row('a'))], ['b'], 1],
    ['a key deleted then inserted again in one batch is there once', list([row('a')]), [ev(1, 'DELETE', null, row('a')), ev(2, 'INSERT', row('a'))], ['a'], 2],
    ['an INSERT of a present key, twice in a batch, is one row', list([row('a')]), [ev(1, 'INSERT', row('b')), ev(2, 'INSERT', row('b')), ev(3, 'INSERT', row('a'))], ['b', 'a'], 3],
    ['a DELETE of a key never there, between others, changes only the others', list([row('a')]), [ev(1, 'INSERT', row('b')), ev(2, 'DELETE', null, row('zz')), ev(3, 'DELETE', null, row('a'))], ['b'], 3],
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

  test('a primary key change takes the new row whole (no field of the old key carried over)', () => {
    const after = reduce(list([row('a', { name: 'old', extra: 1 })]), [ev(1, 'UPDATE', row('x', { name: 'new' }), row('a'))]);
    expect(after.items).toEqual([row('x', { name: 'new' })]);
  });

  test('the per-change handlers (used beside a custom one) follow the same rules', () => {
    const insertAtEnd = { INSERT: (items: Row[], e: { row: unknown }) => [...items, e.row as Row] };
    const after = reduce(list([row('a'), row('b')]), [ev(1, 'UPDATE', row('x'), row('a')), ev(2, 'DELETE', null, row('zz')), ev(3, 'INSERT', row('c'))], { handlers: insertAtEnd });
    expect(ids(after)).toEqual(['x', 'b', 'c']);
  });

  test('a batch of many changes over a long list takes one pass, not one per change', () => {
    // Counted in key lookups rather than timed: one pass reads each row's key a few times; one per change would read n × m.
    const n = 2000;
    const items = Array.from({ length: n }, (_, i) => row(`r${i}`));
    const events = Array.from({ length: n }, (_, i) => ev(i + 1, 'UPDATE', row(`r${i}`, { v: i })));
    let lookups = 0;
    const after = reduce(list(items), events, { key: (r) => (lookups++, String(r.id)) });
    expect(lookups).toBeLessThanOrEqual(3 * (n + n));
    expect(after.items[n - 1]).toMatchObject({ id: `r${n - 1}`, v: n - 1 });
  });

  test('a custom key and parse (ISO strings to Dates)', () => {
    type P = { code: string; at: Date };
    const after = reduce<P>({ items: [], seq: 0 }, [ev(1, 'INSERT', { id: 'ignored', code: 'k1', at: '2026-01-01T00:00:00.000Z' } as Row)], {
      key: (r) => r.code,
      parse: (r) => ({ code: String(r.code), at: new Date(String(r.at)) }),
    });
    expect(after.items[0]!.at).toBeInstanceOf(Date);
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

describe('reduce a list cut at its page size (cut: its page.next is set)', () => {
  const at = (id: string, day: number, extra: Record<string, unknown> = {}): Row => ({ id, createdAt: `2026-01-${String(day).padStart(2, '0')}T00:00:00.000Z`, ...extra });
  // Newest first: c (day 3), b (day 2); rows of day 1 and before lie beyond the cut.
  const cutList = () => list([at('c', 3), at('b', 2)]);
  test.each([
    ['an UPDATE of a row beyond the cut is ignored, not put at the front', [ev(1, 'UPDATE', at('z', 1, { name: 'renamed' }))], ['c', 'b']],
    ['an UPDATE of a row it holds still applies', [ev(1, 'UPDATE', at('b', 2, { name: 'x' }))], ['c', 'b']],
    ['a primary key change of a row beyond the cut is ignored', [ev(1, 'UPDATE', at('y', 1), at('z', 1))], ['c', 'b']],
    ['a new row newer than the last is placed', [ev(1, 'INSERT', at('n', 4))], ['n', 'c', 'b']],
    ['a row moving in (INSERT) older than the last row is beyond the cut', [ev(1, 'INSERT', at('o', 1))], ['c', 'b']],
    ['a DELETE of a row it holds removes it', [ev(1, 'DELETE', null, at('b', 2))], ['c']],
  ] as const)('%s', (_n, events, expected) => {
    const after = reduce(cutList(), [...events], { cut: true, compare: newestFirst });
    expect(ids(after)).toEqual(expected);
    expect(after.seq).toBe(1);
  });

  test('without a compare, an UPDATE of an unknown row is still ignored and a new row still goes first', () => {
    const after = reduce(cutList(), [ev(1, 'UPDATE', at('z', 1)), ev(2, 'INSERT', at('n', 4))], { cut: true });
    expect(ids(after)).toEqual(['n', 'c', 'b']);
  });

  test('through the per-change handlers too', () => {
    const after = reduce(cutList(), [ev(1, 'UPDATE', at('z', 1)), ev(2, 'INSERT', at('n', 4))], { cut: true, handlers: { INSERT: (items, e) => [e.row as Row, ...items] } });
    expect(ids(after)).toEqual(['n', 'c', 'b']);
  });

  test('a complete list (not cut) still adds the UPDATE of a row it lacks', () => {
    expect(ids(reduce(cutList(), [ev(1, 'UPDATE', at('z', 1))]))).toEqual(['z', 'c', 'b']);
  });
});
