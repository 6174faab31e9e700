// The pure decisions of a subscribe: what a refused one answers (code and message, each
// naming the fix), whether a principal may open it, and where its replay starts with
// which positions to check.
import type { StreamedTable } from '@realtime/db';
import type { ErrorCode, Filter, Grant } from '@realtime/protocol';
import type { Cursor } from '@realtime/auth';
import { subscriptionAllowed, type Verdict } from '../auth/grant';
import type { Position } from '../replay/history';

export type Refusal =
  | { kind: 'rate'; perSecond: number }
  | { kind: 'size'; maxBytes: number }
  | { kind: 'depth'; maxDepth: number }
  | { kind: 'unknown-channel'; channel: string; channels: string[] }
  | { kind: 'too-many'; max: number }
  | { kind: 'forbidden'; message: string }
  | { kind: 'no-ack' };

/** What a refused subscribe answers. */
export function refusalAnswer(r: Refusal): { code: ErrorCode; message: string } {
  switch (r.kind) {
    case 'rate':
      return { code: 'RATE_LIMITED', message: `at most ${r.perSecond} subscribes a second per connection (SUBSCRIBES_PER_SECOND); wait a moment and try again` };
    case 'size':
      return { code: 'BAD_REQUEST', message: `message larger than ${r.maxBytes} bytes` };
    case 'depth':
      return { code: 'BAD_REQUEST', message: `message nested deeper than ${r.maxDepth} levels of arrays and objects` };
    case 'unknown-channel':
      return { code: 'UNKNOWN_CHANNEL', message: `unknown channel "${r.channel}"; channels: ${r.channels.join(', ')}` };
    case 'too-many':
      return { code: 'TOO_MANY_SUBSCRIPTIONS', message: `at most ${r.max} subscriptions per connection (MAX_SUBSCRIPTIONS_PER_SOCKET)` };
    case 'forbidden':
      return { code: 'FORBIDDEN', message: r.message };
    case 'no-ack':
      return { code: 'BAD_REQUEST', message: 'subscribe needs an acknowledgement callback' };
  }
}

/**
 * Service tokens: their grant. Users: rows with a project, of projects they are a member
 * of now (when the filter names one); `currentRole` is their role there now, or null.
 */
export function subscribeVerdict(
  principal: { kind: 'service'; grant: Grant } | { kind: 'user' },
  table: Pick<StreamedTable, 'name' | 'projectColumn'>,
  filter: Filter | undefined,
  currentRole: (projectId: string) => unknown,
): Verdict {
  const column = table.projectColumn;
  if (principal.kind === 'service') return subscriptionAllowed(principal.grant, table.name, column, filter);
  if (column === null) {
    return { ok: false, message: `rows of "${table.name}" belong to no project (realtime_enable named no project column), so no project membership grants them` };
  }
  const wanted = filter?.[column];
  if (wanted !== undefined && (typeof wanted !== 'string' || (currentRole(wanted) ?? null) === null)) {
    return { ok: false, message: `you are not a member of project ${String(wanted)}` };
  }
  return { ok: true };
}

/**
 * Where a subscription's replay starts (undefined: it starts live), and every position
 * given, each with its fingerprint, to check against the history the outbox holds before
 * anything is replayed (history.ts). With both a cursor and `since`, the cursor's
 * snapshot still decides what its list already had: in NOTIFY mode a change the list
 * holds can be stamped after one it does not, so the last seq alone would send it again.
 * A stale cursor (signed with another secret, or before cursors were signed) replays from
 * `since` or 0, and is resynced before any read.
 */
export function resumePoint(cursor: Pick<Cursor, 'headSeq' | 'headFp'> | null, staleCursor: boolean, since: number | undefined, fp: string | undefined): { replayFrom: number | undefined; positions: Position[] } {
  const replayFrom = cursor ? Math.max(cursor.headSeq, since ?? 0) : staleCursor ? (since ?? 0) : since;
  const positions: Position[] = [];
  if (cursor) positions.push({ seq: cursor.headSeq, fp: cursor.headFp });
  if (since !== undefined && (!cursor || since > 0)) positions.push({ seq: since, fp: fp ?? null });
  return { replayFrom, positions };
}
