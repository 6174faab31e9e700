// Who gets a change, and as what: a subscription receives a change when it is past its
// list's position, its filter and grant let the row (old or new) through, and routing
// makes it the change itself, a move out (DELETE) or a move in (INSERT). The rows' API
// form is made once per change and shared by every subscription that receives it.
import { shapeRow, type StreamedTable } from '@realtime/db';
import type { ApiRow, Change, Filter } from '@realtime/protocol';
import { visibleIn, type Cursor, type Principal } from '@realtime/auth';
import type { FeedChange } from '../feed';
import { rowAllowed } from '../auth/grant';
import { matchesFilter, route, type DbRow } from '../subscriptions/route';
import type { Registry } from '../subscriptions/registry';
import type { Subscription } from '../subscriptions/subscription';

export interface ApiRows {
  row(): ApiRow | null;
  old(): ApiRow | null;
  /** The shared event for this op, or null when routing handed back other rows. */
  as(op: Change['op'], row: DbRow | null, old: DbRow | null): Change | null;
}

/**
 * The change's rows in API form, and what a subscription receives of it by op (as is,
 * moved out as a DELETE, moved in as an INSERT), each made on first use and then shared
 * by every subscription that receives it: one object, serialized once (wire.ts).
 */
export function apiRows(table: StreamedTable, change: FeedChange): ApiRows {
  let row: ApiRow | null | undefined;
  let old: ApiRow | null | undefined;
  const byOp = new Map<Change['op'], Change>();
  const api: ApiRows = {
    row: () => (row === undefined ? (row = shapeRow(table, change.newRow)) : row),
    old: () => (old === undefined ? (old = shapeRow(table, change.oldRow)) : old),
    as(op, routedRow, routedOld) {
      // Routing only ever hands back the change's own rows, so one op means one event.
      if (routedRow !== null && routedRow !== change.newRow && routedRow !== change.oldRow) return null;
      if (routedOld !== null && routedOld !== change.oldRow) return null;
      let e = byOp.get(op);
      if (!e) {
        e = { seq: change.seq, op, row: routedRow === null ? null : routedRow === change.newRow ? api.row() : api.old(), old: routedOld === null ? null : api.old(), committedAt: change.committedAt, fp: change.fp, txid: change.txid };
        byOp.set(op, e);
      }
      return e;
    },
  };
  return api;
}

// Kept on the change itself under a symbol, as wire.ts keeps a change's JSON.
const API_OF = Symbol('api');

/**
 * `apiRows`, kept with the change for as long as the change lives: a run read from the
 * change log is one set of objects for every replay it serves (sources.ts), so a
 * reconnect storm shapes and serializes each change once, not once per subscription.
 */
export function keptApiRows(table: StreamedTable, change: FeedChange): ApiRows {
  const held = change as FeedChange & { [API_OF]?: { table: StreamedTable; api: ApiRows } };
  const kept = held[API_OF];
  if (kept && kept.table === table) return kept.api;
  const api = apiRows(table, change);
  held[API_OF] = { table, api };
  return api;
}

/** A user's membership history, as the gateway has it: their role in a project at a seq (null: none). */
export interface Roles {
  roleAt(projectId: string, seq: number): unknown;
}

/**
 * Whether a subscription may see this version of a row: its filter, then its grant (a
 * service token's projects, or a user's membership at `seq`; null `roles`: the user's
 * history is not loaded, so nothing).
 */
export function rowVisible(sub: { filter: Filter | undefined; table: Pick<StreamedTable, 'projectColumn'> }, principal: Principal, roles: Roles | null, seq: number, row: DbRow | null): boolean {
  if (!matchesFilter(row, sub.filter)) return false;
  const column = sub.table.projectColumn;
  if (principal.kind === 'service') return rowAllowed(principal.grant, column, row);
  return !!row && roles !== null && column !== null && typeof row[column] === 'string' && (roles.roleAt(row[column] as string, seq) ?? null) !== null;
}

/** Whether the subscription's list (its cursor) already holds this change: then it is not sent again. */
export function inList(cursor: Pick<Cursor, 'headSeq' | 'snapshot'> | null, seq: number, txid: string): boolean {
  if (!cursor) return false;
  // With a cursor, its snapshot decides what the list had: in NOTIFY mode a change the
  // list holds can be stamped after one it does not.
  return seq <= cursor.headSeq || visibleIn(cursor.snapshot, BigInt(txid));
}

/** What a subscription gets of a change, or null (filtered, not granted, or already in its list). */
export function eventFor(sub: { table: StreamedTable; cursor: Cursor | null }, change: FeedChange, visible: (row: DbRow | null) => boolean, api: ApiRows = apiRows(sub.table, change)): Change | null {
  if (inList(sub.cursor, change.seq, change.txid)) return null;
  const routed = route(change, visible);
  if (!routed) return null;
  const shared = api.as(routed.op, routed.row, routed.old);
  if (shared) return shared;
  return {
    seq: change.seq,
    op: routed.op,
    // Routing only ever hands back the change's own rows, so their API form is shared.
    row: routed.row === change.newRow ? api.row() : routed.row === change.oldRow ? api.old() : shapeRow(sub.table, routed.row),
    old: routed.old === change.oldRow ? api.old() : shapeRow(sub.table, routed.old),
    committedAt: change.committedAt,
    fp: change.fp,
    txid: change.txid,
  };
}

/**
 * `subscriberEvent` for a page of changes, in order: the principal, the membership history
 * and the visibility test are looked up and made once for the page, not per change.
 */
export function subscriberEvents(registry: Pick<Registry, 'membershipOf'>, sub: Subscription, changes: readonly FeedChange[], apiOf?: (change: FeedChange) => ApiRows): Change[] {
  const principal = sub.socket.data.principal;
  const log = principal.kind === 'user' ? registry.membershipOf(sub.socket) : null;
  let seq = 0;
  const visible = (row: DbRow | null) => rowVisible(sub, principal, log, seq, row);
  const events: Change[] = [];
  for (const change of changes) {
    seq = change.seq;
    const e = eventFor(sub, change, visible, apiOf ? apiOf(change) : apiRows(sub.table, change));
    if (e !== null) events.push(e);
  }
  return events;
}

/** What a subscription gets of a change, by its principal and (for a user) membership history. */
export function subscriberEvent(registry: Pick<Registry, 'membershipOf'>, sub: Subscription, change: FeedChange, api = apiRows(sub.table, change)): Change | null {
  const principal = sub.socket.data.principal;
  const log = principal.kind === 'user' ? registry.membershipOf(sub.socket) : null;
  // An unnamed arrow: a named one costs a keepNames call per change under tsx.
  return eventFor(sub, change, (row) => rowVisible(sub, principal, log, change.seq, row), api);
}
