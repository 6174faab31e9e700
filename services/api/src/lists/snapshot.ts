// page.snapshot: the snapshot and outbox head the list's cursor was read from (CURSOR_SQL,
// in the list's own transaction), in the form a client compares stream changes with
// (snapshotHolds in @realtime/protocol): transaction ids as decimal strings.
import type { PageSnapshot } from '@realtime/protocol';
import { parseSnapshot, type CursorRow } from '@realtime/auth';

export function pageSnapshot(row: Pick<CursorRow, 'snapshot' | 'head'>): PageSnapshot {
  const s = parseSnapshot(row.snapshot);
  const xip = [...s.xip].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
  return { head: Number(row.head ?? 0), xmin: String(s.xmin), xmax: String(s.xmax), xip };
}
