// What one subscription sees of one change: the change itself, a move out (DELETE), a
// move in (INSERT), or nothing. `visible` is the subscription's filter and grant
// together, so a row that leaves the grant leaves like a row that leaves the filter.
import type { ChangeOp as Op, Filter } from '@realtime/protocol';

export type DbRow = Record<string, unknown>;

export interface RawChange {
  op: Op;
  newRow: DbRow | null;
  oldRow: DbRow | null;
}

export type Routed = { op: Op; row: DbRow | null; old: DbRow | null } | null;

function sameValue(actual: unknown, wanted: unknown): boolean {
  if (wanted === null) return actual === null || actual === undefined;
  if (actual === null || actual === undefined) return false;
  if (typeof actual === 'object') return false;
  return actual === wanted || String(actual) === String(wanted);
}

export function matchesFilter(row: DbRow | null, filter: Filter | undefined): boolean {
  if (!row) return false;
  if (!filter) return true;
  // for...in, not Object.entries: this runs for every subscription and change of a replay,
  // and an array of pairs each time was a good part of a reconnect storm's garbage.
  for (const column in filter) {
    if (!sameValue(row[column], filter[column])) return false;
  }
  return true;
}

export function route(change: RawChange, visible: (row: DbRow | null) => boolean): Routed {
  switch (change.op) {
    case 'INSERT':
      return visible(change.newRow) ? { op: 'INSERT', row: change.newRow, old: null } : null;
    case 'DELETE':
      return visible(change.oldRow) ? { op: 'DELETE', row: null, old: change.oldRow } : null;
    case 'UPDATE': {
      const before = visible(change.oldRow);
      const after = visible(change.newRow);
      if (before && after) return { op: 'UPDATE', row: change.newRow, old: change.oldRow };
      if (before) return { op: 'DELETE', row: null, old: change.oldRow };
      if (after) return { op: 'INSERT', row: change.newRow, old: null };
      return null;
    }
  }
}
