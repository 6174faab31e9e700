// Which subscriptions of a channel a change can concern, without visiting the others.
// A subscription with an equality filter is filed under one of its columns and the
// value it wants (the channel's project column when it names one, the common case);
// a change is offered to the subscriptions filed under its new row's value and its old
// row's (so that a move reaches both sides, as a DELETE and an INSERT), plus those with
// no usable filter. Routing then decides exactly: this only narrows who is asked.
import type { Filter } from '@realtime/protocol';
import type { DbRow } from './route';

/**
 * A value's key in the index, or null when no filter value can equal it. Matches
 * route.ts's sameValue: scalars compare by their text; null, missing and objects match
 * no filter value that can be filed.
 */
export function keyOf(value: unknown): string | null {
  if (value === null || value === undefined || typeof value === 'object') return null;
  return String(value);
}

/** The column a subscription is filed under: the preferred one when its filter names it, else the first by name. */
export function filedUnder(filter: Filter | undefined, preferred: string | null): { column: string; key: string } | null {
  if (!filter) return null;
  if (preferred !== null && filter[preferred] !== undefined && filter[preferred] !== null) return { column: preferred, key: String(filter[preferred]) };
  const columns = Object.keys(filter)
    .filter((c) => filter[c] !== null)
    .sort();
  if (columns.length === 0) return null;
  return { column: columns[0]!, key: String(filter[columns[0]!]) };
}

export class InterestIndex<S extends { filter?: Filter }> {
  private readonly unfiled = new Set<S>();
  private readonly byColumn = new Map<string, Map<string, Set<S>>>();
  private readonly where = new Map<S, { column: string; key: string } | null>();

  constructor(private readonly preferred: string | null = null) {}

  get size(): number {
    return this.where.size;
  }

  has(sub: S): boolean {
    return this.where.has(sub);
  }

  add(sub: S): void {
    if (this.where.has(sub)) return;
    const at = filedUnder(sub.filter, this.preferred);
    this.where.set(sub, at);
    if (!at) {
      this.unfiled.add(sub);
      return;
    }
    let values = this.byColumn.get(at.column);
    if (!values) this.byColumn.set(at.column, (values = new Map()));
    let subs = values.get(at.key);
    if (!subs) values.set(at.key, (subs = new Set()));
    subs.add(sub);
  }

  delete(sub: S): void {
    if (!this.where.has(sub)) return;
    const at = this.where.get(sub)!;
    this.where.delete(sub);
    if (!at) {
      this.unfiled.delete(sub);
      return;
    }
    const values = this.byColumn.get(at.column)!;
    const subs = values.get(at.key)!;
    subs.delete(sub);
    // Emptied entries go, so that a churn of one-off values does not grow the index.
    if (subs.size === 0) values.delete(at.key);
    if (values.size === 0) this.byColumn.delete(at.column);
  }

  /** The subscriptions a change with these rows can concern, each once (a snapshot: safe to close them while iterating). */
  candidates(newRow: DbRow | null, oldRow: DbRow | null): S[] {
    const out = [...this.unfiled];
    for (const [column, values] of this.byColumn) {
      const a = keyOf(newRow?.[column]);
      const b = keyOf(oldRow?.[column]);
      if (a !== null) for (const s of values.get(a) ?? []) out.push(s);
      if (b !== null && b !== a) for (const s of values.get(b) ?? []) out.push(s);
    }
    return out;
  }

  *[Symbol.iterator](): IterableIterator<S> {
    yield* this.where.keys();
  }
}
