// The infinite query's cache and the window it makes: split into pages by their ends and
// read back, any window comes back the same, and every page holds exactly the rows of
// its own range. Seeded; the seed is in the failure message.
import { expect, test } from 'vitest';
import { applyToWindow, compareRows, compareTuples, tupleOf, type Change, type ListOrder, type ListPage, type SortTuple } from '@realtime/client';
import { splitIntoPages, windowOfPages, type LiveInfiniteData, type LiveInfinitePage } from './infinite.js';

type R = { id: string; v: number };

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('split into pages and read back, a window after any batch is the same window; each page holds its own range', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rand = mulberry32(seed);
    const int = (n: number) => Math.floor(rand() * n);
    const order: ListOrder = { by: 'v', desc: rand() < 0.5, key: 'id' };
    const rows: R[] = Array.from({ length: 3 + int(20) }, (_, i) => ({ id: `k${String(i).padStart(3, '0')}`, v: int(6) })).sort(compareRows(order));
    // Pages of 1..4 rows; the last one ends the set or not.
    const pages: LiveInfinitePage<R>[] = [];
    const complete = rand() < 0.5;
    for (let at = 0; at < rows.length; ) {
      const items = rows.slice(at, at + 1 + int(4));
      at += items.length;
      const last = at >= rows.length && complete;
      const end: SortTuple | null = last ? null : tupleOf(items.at(-1)!, order);
      pages.push({ items, cursor: `C${pages.length}`, end, page: { next: last ? null : `n${pages.length}`, total: rows.length + 3, limit: 4, order, snapshot: { head: pages.length, xmin: '1', xmax: '1', xip: [] } } });
    }
    let data: LiveInfiniteData<R> = { pages: pages as ListPage<R>[], pageParams: pages.map((_, i) => (i === 0 ? null : `n${i - 1}`)) };
    let seq = 100;
    for (let round = 0; round < 5; round++) {
      const { window: w, ends } = windowOfPages(data);
      const changes: Change[] = Array.from({ length: 1 + int(6) }, () => {
        const id = `k${String(int(30)).padStart(3, '0')}`;
        const kind = int(3);
        seq++;
        if (kind === 0) return { seq, op: 'DELETE' as const, row: null, old: { id, v: 0 }, committedAt: '', fp: `f${seq}` };
        return { seq, op: kind === 1 ? ('INSERT' as const) : ('UPDATE' as const), row: { id, v: int(6) }, old: kind === 1 ? null : { id, v: 0 }, committedAt: '', fp: `f${seq}` };
      });
      const next = applyToWindow(w, changes);
      data = splitIntoPages(data, next, ends);
      const back = windowOfPages(data);
      const where = `seed ${seed} round ${round}`;
      expect(back.window.items, where).toEqual(next.items);
      expect([back.window.end, back.window.total, back.window.seq, back.window.fp], where).toEqual([next.end, next.total, next.seq, next.fp]);
      expect(back.ends, where).toEqual(ends);
      data.pages.forEach((p, i) => {
        for (const row of p.items) {
          const t = tupleOf(row, order);
          if (i > 0) expect(compareTuples(order, t, ends[i - 1]!), `${where}: page ${i} holds a row of the page before`).toBeGreaterThan(0);
          if (ends[i] !== null && i < data.pages.length - 1) expect(compareTuples(order, t, ends[i]!), `${where}: page ${i} holds a row past its end`).toBeLessThanOrEqual(0);
        }
      });
    }
  }
});
