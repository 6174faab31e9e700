// The live window's pure core by tables: the order, a batch applied to a window, and the
// next page merged across the seam with the changes that came while it was in flight.
import { describe, expect, test } from 'vitest';
import type { Change, ListOrder, ListPage, PageSnapshot } from '@realtime/protocol';
import { compareRows } from './order.js';
import { applyToWindow, extendWindow, windowFromPage, type LiveWindow } from './window.js';

type R = { id: string; v: number };
const asc: ListOrder = { by: 'v', desc: false, key: 'id' };
const snap = (head: number, more: Partial<PageSnapshot> = {}): PageSnapshot => ({ head, xmin: '1', xmax: '1', xip: [], ...more });
const r = (id: string, v: number): R => ({ id, v });
const ins = (seq: number, row: R, txid?: string): Change => ({ seq, op: 'INSERT', row, old: null, committedAt: '', ...(txid ? { txid } : {}) });
const upd = (seq: number, row: R, old: R): Change => ({ seq, op: 'UPDATE', row, old, committedAt: '' });
const del = (seq: number, old: R): Change => ({ seq, op: 'DELETE', row: null, old, committedAt: '' });
const page = (items: R[], next: string | null, total: number, snapshot = snap(0), cursor = 'C1'): ListPage<R> => ({ items, cursor, page: { next, total, limit: items.length, order: asc, snapshot } });
const ids = (w: LiveWindow<R>) => w.items.map((x) => `${x.id}:${x.v}`);

describe('compareRows', () => {
  const sorted = <T>(order: ListOrder, rows: T[]) => [...rows].sort(compareRows<T>(order));
  test.each([
    ['numbers as numbers, not as text', { by: 'n', desc: false, key: 'id' }, [{ n: 10, id: 'a' }, { n: 9, id: 'b' }, { n: -1, id: 'c' }], ['c', 'b', 'a']],
    ['ISO timestamps by their characters', { by: 'at', desc: false, key: 'id' }, [{ at: '2026-01-02T00:00:00.000Z', id: 'a' }, { at: '2025-12-31T23:59:59.999Z', id: 'b' }, { at: '2026-01-01T00:00:00.001Z', id: 'c' }], ['b', 'c', 'a']],
    ['uuids by their characters (bytes), not by locale', { by: 'id', desc: false, key: 'id' }, [{ id: 'f0000000-0000-4000-8000-000000000000' }, { id: '0a000000-0000-4000-8000-000000000000' }, { id: 'a0000000-0000-4000-8000-000000000000' }], ['0a000000-0000-4000-8000-000000000000', 'a0000000-0000-4000-8000-000000000000', 'f0000000-0000-4000-8000-000000000000']],
    ['ties broken by the key', { by: 'n', desc: false, key: 'id' }, [{ n: 1, id: 'c' }, { n: 1, id: 'a' }, { n: 0, id: 'z' }], ['z', 'a', 'c']],
    ['descending: the key too', { by: 'n', desc: true, key: 'id' }, [{ n: 1, id: 'a' }, { n: 2, id: 'b' }, { n: 1, id: 'c' }], ['b', 'c', 'a']],
    ['upper case before lower case, as the server compares bytes', { by: 's', desc: false, key: 'id' }, [{ s: 'b', id: '1' }, { s: 'B', id: '2' }, { s: 'a', id: '3' }], ['2', '3', '1']],
  ] as const)('%s', (_n, order, rows, expected) => {
    expect(sorted(order, [...rows] as Record<string, unknown>[]).map((x) => x.id)).toEqual(expected);
  });
});

describe('applyToWindow', () => {
  // Rows up to (50, 'e') are in the window; the filtered set holds 9 rows in all.
  const base = (): LiveWindow<R> => ({ items: [r('a', 10), r('b', 20), r('c', 30), r('d', 40), r('e', 50)], end: [50, 'e'], next: 'N', total: 9, seq: 4, cursor: 'C1', snapshot: snap(4), order: asc });
  test.each([
    ['an insert within the end is placed in order', [ins(5, r('x', 25))], ['a:10', 'b:20', 'x:25', 'c:30', 'd:40', 'e:50'], 10],
    ['an insert beyond the end is ignored (never put first), and counted', [ins(5, r('x', 60))], ['a:10', 'b:20', 'c:30', 'd:40', 'e:50'], 10],
    ['an insert tied with the end on the value and before it on the key is within', [ins(5, r('d2', 50))], ['a:10', 'b:20', 'c:30', 'd:40', 'd2:50', 'e:50'], 10],
    ['an insert tied with the end on the value and after it on the key is beyond', [ins(5, r('f', 50))], ['a:10', 'b:20', 'c:30', 'd:40', 'e:50'], 10],
    ['an update moving a row in from beyond the end', [upd(5, r('z', 35), r('z', 70))], ['a:10', 'b:20', 'c:30', 'z:35', 'd:40', 'e:50'], 9],
    ['an update moving a row out past the end', [upd(5, r('b', 55), r('b', 20))], ['a:10', 'c:30', 'd:40', 'e:50'], 9],
    ['an update moving a row within', [upd(5, r('a', 45), r('a', 10))], ['b:20', 'c:30', 'd:40', 'a:45', 'e:50'], 9],
    ['an update of a row beyond the end that stays beyond', [upd(5, r('z', 80), r('z', 70))], ['a:10', 'b:20', 'c:30', 'd:40', 'e:50'], 9],
    ['a delete', [del(5, r('c', 30))], ['a:10', 'b:20', 'd:40', 'e:50'], 8],
    ['a delete beyond the end still counts', [del(5, r('z', 70))], ['a:10', 'b:20', 'c:30', 'd:40', 'e:50'], 8],
    ['a primary key change: the old key goes, the new row goes in at its place', [upd(5, r('k', 20), r('b', 20))], ['a:10', 'k:20', 'c:30', 'd:40', 'e:50'], 9],
    ['a primary key change onto a key the window holds leaves one row', [upd(5, r('c', 15), r('b', 20))], ['a:10', 'c:15', 'd:40', 'e:50'], 9],
    ['a move into the filter arrives as an INSERT', [ins(5, r('m', 12))], ['a:10', 'm:12', 'b:20', 'c:30', 'd:40', 'e:50'], 10],
    ['a move out of the filter arrives as a DELETE', [del(5, r('d', 40))], ['a:10', 'b:20', 'c:30', 'e:50'], 8],
    ['changes at or below the window seq are ignored', [ins(3, r('x', 25)), del(4, r('a', 10)), ins(5, r('y', 26))], ['a:10', 'b:20', 'y:26', 'c:30', 'd:40', 'e:50'], 10],
    ['a row deleted and inserted again in one batch is there once', [del(5, r('a', 10)), ins(6, r('a', 11))], ['a:11', 'b:20', 'c:30', 'd:40', 'e:50'], 9],
  ] as const)('%s', (_n, changes, expected, total) => {
    const w = applyToWindow(base(), [...changes]);
    expect(ids(w)).toEqual(expected);
    expect(w.total).toBe(total);
    expect(w.seq).toBe(Math.max(...changes.map((c) => c.seq)));
  });

  test('a batch entirely at or below seq returns the same window (no re-render)', () => {
    const w = base();
    expect(applyToWindow(w, [ins(4, r('x', 1))])).toBe(w);
  });

  test('a batch that touches no loaded row keeps the items array', () => {
    const w = base();
    expect(applyToWindow(w, [ins(5, r('x', 99))]).items).toBe(w.items);
  });

  test('the position follows the last change, with its fingerprint', () => {
    const w = applyToWindow(base(), [{ ...ins(5, r('x', 99)), fp: 'f5' }, { ...ins(6, r('y', 99)), fp: 'f6' }]);
    expect([w.seq, w.fp]).toEqual([6, 'f6']);
  });

  test('total: a change the last page merged already counts is not counted again (by seq, and by txid)', () => {
    // The last page was read at head 8 in a snapshot that sees every txid below 100 but 97.
    const w = { ...base(), snapshot: snap(8, { xmin: '97', xmax: '100', xip: ['97'] }) };
    const after = applyToWindow(w, [
      ins(5, r('p', 61)), // seq <= head: held
      ins(9, r('q', 62), '96'), // committed before the snapshot: held
      ins(10, r('s', 63), '97'), // in progress then: not held
      ins(11, r('t', 64), '120'), // began after: not held
      del(12, r('q', 62)),
    ]);
    expect(after.total).toBe(9 + 2 - 1);
  });

  test('without snapshotHolds every insert and delete counts', () => {
    const after = applyToWindow({ ...base(), snapshot: snap(0) }, [ins(5, r('p', 61)), ins(6, r('q', 62)), del(7, r('a', 10))]);
    expect(after.total).toBe(10);
  });

  test('a window with no end takes every row', () => {
    const w = { ...base(), end: null, next: null };
    expect(ids(applyToWindow(w, [ins(5, r('x', 1000)), upd(6, r('a', 900), r('a', 10))]))).toEqual(['b:20', 'c:30', 'd:40', 'e:50', 'a:900', 'x:1000']);
  });

  test('descending: within the end means at or after it in the order', () => {
    const desc: ListOrder = { by: 'v', desc: true, key: 'id' };
    const w: LiveWindow<R> = { items: [r('e', 50), r('d', 40)], end: [40, 'd'], next: 'N', total: 5, seq: 0, cursor: 'C', snapshot: snap(0), order: desc };
    expect(ids(applyToWindow(w, [ins(1, r('x', 45)), ins(2, r('y', 30)), ins(3, r('c', 40))]))).toEqual(['e:50', 'x:45', 'd:40']);
  });

  test('5,000 changes over 5,000 rows in one pass: key reads grow as n log n, not n × m', () => {
    let reads = 0;
    const counted = (id: string, v: number): R => {
      const o = { v } as R;
      Object.defineProperty(o, 'id', { enumerable: true, get: () => (reads++, id) });
      return o;
    };
    const n = 5000;
    const items = Array.from({ length: n }, (_, i) => counted(`r${String(i).padStart(5, '0')}`, i * 2));
    const w: LiveWindow<R> = { items, end: [2 * n, 'zz'], next: 'N', total: n, seq: 0, cursor: 'C', snapshot: snap(0), order: asc };
    // Every row moves (an odd value), a fifth beyond the end; and 1,000 new rows.
    const changes: Change[] = [];
    for (let i = 0; i < n; i++) {
      const id = `r${String(i).padStart(5, '0')}`;
      changes.push(i % 5 === 0 ? upd(i + 1, counted(id, 3 * n + i), counted(id, i * 2)) : upd(i + 1, counted(id, (n - i) * 2 + 1), counted(id, i * 2)));
    }
    for (let i = 0; i < 1000; i++) changes.push(ins(n + i + 1, counted(`n${i}`, i * 10 + 1)));
    reads = 0;
    const after = applyToWindow(w, changes);
    const m = changes.length;
    expect(reads).toBeLessThan(4 * (n + m) * Math.log2(n + m));
    expect(after.items).toHaveLength(n - n / 5 + 1000);
    const vs = after.items.map((x) => x.v);
    expect(vs).toEqual([...vs].sort((a, b) => a - b));
    expect(after.total).toBe(n + 1000);
  });
});

describe('extendWindow: the seam between the window and its next page', () => {
  // The table, ascending by v: a10 b20 | c30 d40 | e50 ... The first page (a, b) was read
  // at head 5; the next page (c, d) at head 9.
  const first = () => windowFromPage(page([r('a', 10), r('b', 20)], 'after-b', 6, snap(5)));
  const second = (items: R[] = [r('c', 30), r('d', 40)], total = 6, next: string | null = 'after-d') => page(items, next, total, snap(9), 'C2');
  const seam = (w: LiveWindow<R>, pageItems: R[], buffered: Change[], total = 6, later: Change[] = []) => applyToWindow(extendWindow(w, second(pageItems, total), buffered), later);

  test('a plain extension: rows, end, next, total and snapshot from the page; the cursor stays the first one', () => {
    const w = extendWindow(first(), second(), []);
    expect(ids(w)).toEqual(['a:10', 'b:20', 'c:30', 'd:40']);
    expect([w.end, w.next, w.total, w.snapshot.head, w.cursor]).toEqual([[40, 'd'], 'after-d', 6, 9, 'C1']);
  });

  test.each([
    // Received before the page arrived, already applied to the window (ignored there: beyond its end).
    ['held by the page, before it: applied again, counted once', [ins(6, r('x', 35))], [r('c', 30), r('x', 35), r('d', 40)], 7, [], ['a:10', 'b:20', 'c:30', 'x:35', 'd:40'], 7],
    ['not held by the page, before it: placed and counted', [ins(10, r('x', 35))], [r('c', 30), r('d', 40)], 6, [], ['a:10', 'b:20', 'c:30', 'x:35', 'd:40'], 7],
    ['held by the page, after it: applied again, not counted again', [], [r('c', 30), r('x', 35), r('d', 40)], 7, [ins(8, r('x', 35))], ['a:10', 'b:20', 'c:30', 'x:35', 'd:40'], 7],
    ['not held by the page, after it: placed and counted', [], [r('c', 30), r('d', 40)], 6, [ins(10, r('x', 35))], ['a:10', 'b:20', 'c:30', 'x:35', 'd:40'], 7],
    ['a delete not held, before: the page still shows the row', [del(10, r('c', 30))], [r('c', 30), r('d', 40)], 6, [], ['a:10', 'b:20', 'd:40'], 5],
    ['a delete held, after: the page no longer shows the row', [], [r('d', 40)], 5, [del(7, r('c', 30))], ['a:10', 'b:20', 'd:40'], 5],
    ['a row moving from the window into the page range, not held, before', [upd(10, r('a', 35), r('a', 10))], [r('c', 30), r('d', 40)], 6, [], ['b:20', 'c:30', 'a:35', 'd:40'], 6],
    ['a row moving from the window into the page range, held, after: the page has it, the window too until the change comes', [], [r('c', 30), r('a', 35), r('d', 40)], 6, [upd(7, r('a', 35), r('a', 10))], ['b:20', 'c:30', 'a:35', 'd:40'], 6],
    ['a row moving from the page range into the window, not held, before: on both sides, once after', [upd(10, r('d', 15), r('d', 40))], [r('c', 30), r('d', 40)], 6, [], ['a:10', 'd:15', 'b:20', 'c:30'], 6],
    ['a row moving from the page range into the window, held, after', [], [r('c', 30)], 6, [upd(7, r('d', 15), r('d', 40))], ['a:10', 'd:15', 'b:20', 'c:30'], 6],
    ['a row moving past the new end, not held, before', [upd(10, r('c', 99), r('c', 30))], [r('c', 30), r('d', 40)], 6, [], ['a:10', 'b:20', 'd:40'], 6],
    ['a primary key change across the seam, not held, before', [upd(10, r('k', 31), r('a', 10))], [r('c', 30), r('d', 40)], 6, [], ['b:20', 'c:30', 'k:31', 'd:40'], 6],
    ['a change held, then one not held, of the same row, both before', [upd(7, r('c', 33), r('c', 30)), upd(10, r('c', 12), r('c', 33))], [r('c', 33), r('d', 40)], 6, [], ['a:10', 'c:12', 'b:20', 'd:40'], 6],
  ] as const)('%s', (_n, buffered, pageItems, pageTotal, later, expected, total) => {
    // What the window received while the page was in flight was applied to it as it came.
    const w = applyToWindow(first(), [...buffered]);
    const after = seam(w, [...pageItems], [...buffered], pageTotal, [...later]);
    expect(ids(after)).toEqual(expected);
    expect(after.total).toBe(total);
    expect(new Set(after.items.map((x) => x.id)).size).toBe(after.items.length);
  });

  test('the buffered changes need not have been applied to the window first', () => {
    const buffered = [ins(10, r('x', 35)), upd(11, r('a', 36), r('a', 10))];
    const after = extendWindow(first(), second(), buffered);
    expect(ids(after)).toEqual(['b:20', 'c:30', 'x:35', 'a:36', 'd:40']);
    expect([after.total, after.seq]).toEqual([7, 11]);
  });

  test('the last page ends the window: every row after it is taken', () => {
    const w = extendWindow(first(), page([r('c', 30)], null, 3, snap(9)), []);
    expect([w.end, w.next]).toEqual([null, null]);
    expect(ids(applyToWindow(w, [ins(10, r('z', 1000))]))).toEqual(['a:10', 'b:20', 'c:30', 'z:1000']);
  });

  test('a duplicate in the buffer is not counted twice', () => {
    expect(extendWindow(first(), second(), [ins(10, r('x', 35)), ins(10, r('x', 35))]).total).toBe(7);
  });
});

test('a row on both sides of the seam is there once as soon as the page is merged, before its change arrives', () => {
  const snap9: PageSnapshot = { head: 9, xmin: '1', xmax: '1', xip: [] };
  const w = windowFromPage<R>({ items: [r('a', 10), r('b', 20)], cursor: 'C', page: { next: 'after-b', total: 3, limit: 2, order: asc, snapshot: { ...snap9, head: 5 } } });
  // b moved to 35 in a change the page holds (seq 7) but the stream has not brought yet.
  const merged = extendWindow(w, { items: [r('c', 30), r('b', 35)], cursor: 'C2', page: { next: null, total: 3, limit: 2, order: asc, snapshot: snap9 } }, []);
  expect(ids(merged)).toEqual(['a:10', 'c:30', 'b:35']);
});
