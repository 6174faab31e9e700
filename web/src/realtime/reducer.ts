// The cache reducer of a live list: one action union, one reducer, then one setQueryData.
// Changes at or below the last applied seq are ignored (duplicates, out of order), so
// a replay that overlaps what the list already has changes nothing.
import type { ApiRow, ChangeEvent, Op } from '@realtime/protocol';

export type Row = ApiRow & { id: string };

export interface LiveList {
  items: Row[];
  /** The highest seq applied to `items`. */
  seq: number;
}

export type Handler = (items: Row[], event: ChangeEvent) => Row[];
export type Handlers = Partial<Record<Op, Handler>>;

export interface ReduceOptions {
  /** Keeps the list in this order after every insert (e.g. newest createdAt first). */
  compare?: (a: Row, b: Row) => number;
  handlers?: Handlers;
}

const idOf = (e: ChangeEvent) => String((e.row ?? e.old)?.id);

export const defaultHandlers: Required<Handlers> = {
  INSERT: (items, e) => {
    const row = e.row as Row;
    const at = items.findIndex((r) => r.id === row.id);
    if (at >= 0) return items.map((r, i) => (i === at ? row : r));
    return [row, ...items];
  },
  UPDATE: (items, e) => {
    const row = e.row as Row;
    let found = false;
    const next = items.map((r) => {
      if (r.id !== row.id) return r;
      found = true;
      return { ...r, ...row };
    });
    return found ? next : [row, ...items];
  },
  DELETE: (items, e) => items.filter((r) => r.id !== idOf(e)),
};

export function reduce(list: LiveList, events: ChangeEvent[], opts: ReduceOptions = {}): LiveList {
  let { items, seq } = list;
  let changed = false;
  for (const e of events) {
    if (e.seq <= seq) continue;
    const handler = opts.handlers?.[e.op] ?? defaultHandlers[e.op];
    items = handler(items, e);
    seq = e.seq;
    changed = true;
  }
  if (changed && opts.compare) items = [...items].sort(opts.compare);
  return changed ? { items, seq } : list;
}

/** Newest first by createdAt, then id: the order of the API's lists. */
export const newestFirst = (a: Row, b: Row): number => {
  const t = String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? ''));
  return t !== 0 ? t : b.id.localeCompare(a.id);
};
