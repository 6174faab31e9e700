// The live window: the rows of a filtered set, in an order, up to a boundary `end` (the
// sort tuple of the last row loaded, as it was read), exactly as
// `SELECT ... WHERE <filter> AND (sort, key) <= end ORDER BY ...` returns them at the seq
// applied. Pure: a batch of changes (applyToWindow) or the next keyset page with the
// changes received while it was in flight (extendWindow) in, the next window out.
//
// Cost: a batch is one pass over the window plus a sort of the rows it puts back,
// O(n + m log m) for n rows and m changes; no per-change search of the list.
import { snapshotHolds, type Change, type ListOrder, type ListPage, type PageSnapshot } from '@realtime/protocol';
import { compareRows, compareTuples, keyOf, tupleOf, type SortTuple } from './order.js';

export interface LiveWindow<R> {
  /** In the window's order. */
  items: R[];
  /** null: no end, every row of the filtered set is here. */
  end: SortTuple | null;
  /** The `after` for loadMore, null when end is null. */
  next: string | null;
  /** The exact size of the filtered set (not only of the rows loaded). */
  total: number;
  /** The last change applied (0: none since the first page). */
  seq: number;
  /** That change's fingerprint (resume with since + fp). */
  fp?: string;
  /** The first page's stream cursor (the subscription's). */
  cursor: string;
  /** The snapshot of the last page merged: which changes `total` already counts. */
  snapshot: PageSnapshot;
  order: ListOrder;
}

/** The end a page sets: its last row's tuple, none on the last page. */
function pageEnd<R>(page: ListPage<R>, order: ListOrder, before: SortTuple | null): SortTuple | null {
  if (page.page.next === null) return null;
  const last = page.items.at(-1);
  // A page with a `next` always has rows; without any, the boundary cannot move.
  return last === undefined ? before : tupleOf(last, order);
}

export function windowFromPage<R>(page: ListPage<R>): LiveWindow<R> {
  const order = page.page.order;
  return {
    items: page.items.slice(),
    end: pageEnd(page, order, null),
    next: page.page.next,
    total: page.page.total,
    seq: 0,
    cursor: page.cursor,
    snapshot: page.page.snapshot,
    order,
  };
}

const delta = (c: Change): number => (c.op === 'INSERT' ? 1 : c.op === 'DELETE' ? -1 : 0);

/** The changes in seq order with duplicates and anything at or below `after` left out. */
function fresh(changes: readonly Change[], after: number): Change[] {
  const out: Change[] = [];
  let seq = after;
  for (const c of changes) {
    if (c.seq <= seq) continue;
    out.push(c);
    seq = c.seq;
  }
  return out;
}

/**
 * The rows after `changes`, in order: each change takes its old and new keys out and puts
 * its new row back when its tuple is within `end`. A row beyond `end` is left out, never
 * put at the front. Rows no change touched keep their array (and, with no change at all
 * to them, the result is `items` itself).
 */
export function applyRows<R>(items: readonly R[], end: SortTuple | null, order: ListOrder, changes: readonly Change[]): R[] {
  // key -> the row it ends with (null: gone). The last change of a key decides.
  const touched = new Map<string, R | null>();
  for (const c of changes) {
    if (c.old) touched.set(keyOf(c.old, order), null);
    if (c.row) {
      const k = keyOf(c.row, order);
      const inside = c.op !== 'DELETE' && (end === null || compareTuples(order, tupleOf(c.row, order), end) <= 0);
      touched.set(k, inside ? (c.row as R) : null);
    }
  }
  if (touched.size === 0) return items as R[];
  const kept = items.filter((r) => !touched.has(keyOf(r, order)));
  const added: R[] = [];
  for (const r of touched.values()) if (r !== null) added.push(r);
  if (added.length === 0) return kept.length === items.length ? (items as R[]) : kept;
  const cmp = compareRows<R>(order);
  added.sort(cmp);
  const out: R[] = new Array(kept.length + added.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < kept.length && j < added.length) out[o++] = cmp(kept[i]!, added[j]!) <= 0 ? kept[i++]! : added[j++]!;
  while (i < kept.length) out[o++] = kept[i++]!;
  while (j < added.length) out[o++] = added[j++]!;
  return out;
}

function position<R>(w: LiveWindow<R>, last: Change | undefined): Pick<LiveWindow<R>, 'seq' | 'fp'> {
  if (!last || last.seq <= w.seq) return w.fp === undefined ? { seq: w.seq } : { seq: w.seq, fp: w.fp };
  return last.fp === undefined ? { seq: last.seq } : { seq: last.seq, fp: last.fp };
}

function withPosition<R>(w: Omit<LiveWindow<R>, 'seq' | 'fp'>, at: Pick<LiveWindow<R>, 'seq' | 'fp'>): LiveWindow<R> {
  return at.fp === undefined ? { ...w, seq: at.seq } : { ...w, seq: at.seq, fp: at.fp };
}

/**
 * A batch of the subscription's changes (seq ascending). Changes at or below `w.seq` are
 * ignored. `total` moves by one per INSERT and DELETE unless the last page merged already
 * counts the change (`snapshotHolds`).
 */
export function applyToWindow<R>(w: LiveWindow<R>, changes: readonly Change[]): LiveWindow<R> {
  const batch = fresh(changes, w.seq);
  if (batch.length === 0) return w;
  let total = w.total;
  for (const c of batch) if (!snapshotHolds(w.snapshot, c)) total += delta(c);
  const { seq: _s, fp: _f, ...rest } = w;
  return withPosition({ ...rest, items: applyRows(w.items, w.end, w.order, batch), total }, position(w, batch.at(-1)));
}

/**
 * The next keyset page merged at the window's end. `buffered` is every change the window
 * received since the page's request was sent (applied to `w` or not). The page's snapshot
 * decides which of them its `total` already counts; all of them are applied again to the
 * merged rows, in seq order: re-applying full row images converges to the rows as they
 * are, so a change is neither lost nor doubled across the seam, whether the page's
 * snapshot held it or not, and whether it came before the page or comes after.
 */
export function extendWindow<R>(w: LiveWindow<R>, page: ListPage<R>, buffered: readonly Change[]): LiveWindow<R> {
  const order = w.order;
  const again = fresh(buffered, 0);
  // Already complete: no row lies beyond it, and the changes reached it as they came.
  if (w.end === null) return applyToWindow(w, again);
  // A row in both halves moved across the old end; the page's copy is the newer unless a
  // buffered change says otherwise, and that change is applied again below.
  const onPage = new Set(page.items.map((r) => keyOf(r, order)));
  const merged = w.items.filter((r) => !onPage.has(keyOf(r, order))).concat(page.items);
  const end = pageEnd(page, order, w.end);
  let total = page.page.total;
  for (const c of again) if (!snapshotHolds(page.page.snapshot, c)) total += delta(c);
  const { seq: _s, fp: _f, ...rest } = w;
  return withPosition(
    { ...rest, items: applyRows(merged, end, order, again), end, next: page.page.next, total, snapshot: page.page.snapshot },
    position(w, again.at(-1)),
  );
}
