// The cache reducer of a live list: a batch of changes in, the list as the table now is
// out, in one pass over the list whatever the batch's size. Changes at or below the last
// applied seq are ignored (duplicates, out of order), so a replay that overlaps what the
// list already has changes nothing. Every change a SQL writer can make is covered: an
// UPDATE that changes the primary key (`row` and `old` with different keys) takes the
// old key out and puts the new row in its place; an INSERT of a key already present
// replaces it (a move into the filter of a row the list kept); a DELETE of a key that is
// not there changes nothing.
//
// A list cut at its page size (its `page.next` is set: more rows exist than it holds)
// is not the whole table: an UPDATE of a row it does not hold is a row beyond its end,
// so it is ignored (`cut`), and with `compare` a new row that sorts after its last row
// is left out too. A list that needs every row reachable is a live window
// (`window/`), not a cut list.
import type { ApiRow, Change, ChangeOp as Op } from '@realtime/protocol';

/** A streamed row: the API's shape (camelCase keys, ISO timestamps), keyed by `id` unless told otherwise. */
export type Row = ApiRow & { id: string };

export interface LiveList<R = Row> {
  items: R[];
  /** The highest seq applied to `items`. */
  seq: number;
}

export type Handler<R = Row> = (items: R[], event: Change) => R[];
export type Handlers<R = Row> = Partial<Record<Op, Handler<R>>>;

export interface ReduceOptions<R = Row> {
  /** Keeps the list in this order after every batch (e.g. newest createdAt first). */
  compare?: (a: R, b: R) => number;
  /** Replace the built-in handling of an op (each then runs over the whole list, per change). */
  handlers?: Handlers<R>;
  /** The row's key (default: `String(row.id)`). */
  key?: (row: R) => string;
  /** Wire row to list row (e.g. ISO strings to Dates); default: as is. */
  parse?: (row: ApiRow) => R;
  /**
   * The list holds only the first rows of a longer set (its `page.next` is not null): an
   * UPDATE of a row it does not hold is ignored instead of added, and with `compare` a
   * new row sorting after the list's last row is left out.
   */
  cut?: boolean;
}

const defaultKey = (row: unknown): string => String((row as { id?: unknown }).id);

/** The per-change handlers, for callers that replace only some ops; they follow the same rules as reduce(). */
export function defaultHandlers<R>(key: (row: R) => string = defaultKey, parse: (row: ApiRow) => R = (r) => r as R, cut = false): Required<Handlers<R>> {
  return {
    INSERT: (items, e) => {
      const row = parse(e.row!);
      const k = key(row);
      const at = items.findIndex((r) => key(r) === k);
      if (at >= 0) return items.map((r, i) => (i === at ? row : r));
      return [row, ...items];
    },
    UPDATE: (items, e) => {
      const row = parse(e.row!);
      const k = key(row);
      const oldKey = e.old ? key(parse(e.old)) : k;
      let placed = false;
      const next: R[] = [];
      for (const r of items) {
        const rk = key(r);
        if (rk === oldKey || rk === k) {
          // The first of the old or new key takes the row; any other copy goes.
          if (!placed) next.push(rk === oldKey && oldKey === k ? { ...r, ...row } : row);
          placed = true;
        } else next.push(r);
      }
      return placed || cut ? next : [row, ...next];
    },
    DELETE: (items, e) => {
      const k = key(parse(e.old!));
      return items.filter((r) => key(r) !== k);
    },
  };
}

export function reduce<R = Row>(list: LiveList<R>, events: readonly Change[], opts: ReduceOptions<R> = {}): LiveList<R> {
  const fresh: Change[] = [];
  let seq = list.seq;
  for (const e of events) {
    if (e.seq <= seq) continue;
    fresh.push(e);
    seq = e.seq;
  }
  if (fresh.length === 0) return list;
  const key = opts.key ?? defaultKey;
  const parse = opts.parse ?? ((r: ApiRow) => r as R);
  let items: R[];
  if (opts.handlers && Object.keys(opts.handlers).length > 0) {
    const builtIn = defaultHandlers<R>(key, parse, opts.cut);
    items = list.items;
    for (const e of fresh) items = (opts.handlers[e.op] ?? builtIn[e.op])(items, e);
  } else {
    const last = list.items.at(-1);
    const beyond = opts.cut && opts.compare && last !== undefined ? (row: R) => opts.compare!(row, last) > 0 : opts.cut ? () => false : null;
    items = applyAll(list.items, fresh, key, parse, beyond);
  }
  if (opts.compare) items = [...items].sort(opts.compare);
  return { items, seq };
}

/**
 * The whole batch against an index of the list: slots keep each row's place (a renamed
 * row stays where it was), new rows go to the front newest first, and the list is
 * rebuilt once at the end. `beyond` (a cut list): which new rows lie past its end; an
 * UPDATE of a row it does not hold is then ignored.
 */
function applyAll<R>(items: readonly R[], events: readonly Change[], key: (row: R) => string, parse: (row: ApiRow) => R, beyond: ((row: R) => boolean) | null): R[] {
  const slots: (R | undefined)[] = [...items];
  const added: (R | undefined)[] = [];
  // key -> [which array, index]; a list that holds a key twice keeps its first.
  const where = new Map<string, [(R | undefined)[], number]>();
  items.forEach((r, i) => {
    const k = key(r);
    if (!where.has(k)) where.set(k, [slots, i]);
  });
  const remove = (k: string): [(R | undefined)[], number] | undefined => {
    const at = where.get(k);
    if (at) {
      at[0][at[1]] = undefined;
      where.delete(k);
    }
    return at;
  };
  const put = (k: string, row: R, at?: [(R | undefined)[], number]) => {
    if (at) {
      at[0][at[1]] = row;
      where.set(k, at);
    } else if (!beyond?.(row)) {
      added.push(row);
      where.set(k, [added, added.length - 1]);
    }
  };
  for (const e of events) {
    if (e.op === 'DELETE') {
      if (e.old) remove(key(parse(e.old)));
      continue;
    }
    const row = parse(e.row!);
    const k = key(row);
    if (e.op === 'INSERT') {
      put(k, row, where.get(k));
      continue;
    }
    const oldKey = e.old ? key(parse(e.old)) : k;
    if (oldKey === k) {
      const at = where.get(k);
      // A cut list does not hold this row: it lies beyond the list's end.
      if (!at && beyond) continue;
      // Merged, so that a row shaped with fewer fields (a custom parse) keeps the rest.
      put(k, at ? ({ ...at[0][at[1]], ...row } as R) : row, at);
    } else {
      // The primary key changed: the old key goes, the new row takes its place.
      const at = remove(oldKey);
      const clash = remove(k);
      if (!at && !clash && beyond) continue;
      put(k, row, at ?? clash);
    }
  }
  const out: R[] = [];
  for (let i = added.length - 1; i >= 0; i--) if (added[i] !== undefined) out.push(added[i]!);
  for (const r of slots) if (r !== undefined) out.push(r);
  return out;
}

/** Newest first by createdAt, then id: the order of the API's lists. */
export const newestFirst = <R extends { id?: unknown; createdAt?: unknown }>(a: R, b: R): number => {
  const t = String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? ''));
  return t !== 0 ? t : String(b.id).localeCompare(String(a.id));
};
