// A list's order as the server applies it, for rows as they arrive: the sort field, then
// the key, both ascending or both descending. Values compare as the server compares
// them once printed: numbers as numbers, strings (ISO timestamps cut to the
// millisecond, uuids) by their characters, never by locale.
import type { ListOrder } from '@realtime/protocol';

/** A row's place in an order: its sort value and its key. */
export type SortTuple = [value: unknown, key: unknown];

export function compareValues(a: unknown, b: unknown): number {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) return a < b ? -1 : a > b ? 1 : 0;
  // The orderable columns are NOT NULL; a missing value sorts first rather than as "undefined".
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
  if (b === null || b === undefined) return 1;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export const tupleOf = <R>(row: R, order: ListOrder): SortTuple => {
  const r = row as Record<string, unknown>;
  return [r[order.by], r[order.key]];
};

/** Negative when `a` comes first in the order. */
export function compareTuples(order: ListOrder, a: SortTuple, b: SortTuple): number {
  const c = compareValues(a[0], b[0]) || compareValues(a[1], b[1]);
  return order.desc ? -c : c;
}

/** The comparator of an order: ties on the sort value are broken by the key, in the same direction. */
export function compareRows<R>(order: ListOrder): (a: R, b: R) => number {
  return (a, b) => compareTuples(order, tupleOf(a, order), tupleOf(b, order));
}

/** The key a window indexes a row by. */
export const keyOf = (row: unknown, order: ListOrder): string => String((row as Record<string, unknown>)[order.key]);
