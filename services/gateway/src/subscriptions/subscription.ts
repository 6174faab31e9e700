// One subscription: a channel, its filter and grant, and its place between replay and
// live (its Seam). Owned by the registry; replay and dispatch write to it.
import type { StreamedTable } from '@realtime/db';
import type { Change, Filter } from '@realtime/protocol';
import type { Cursor } from '@realtime/auth';
import type { FeedChange } from '../feed';
import type { Seam } from '../replay/seam';
import type { GatewaySocket } from '../connections/socket';

export interface Subscription {
  id: string;
  socket: GatewaySocket;
  channel: string;
  /** The catalog's table as it was at subscribe: its shape and project column. */
  table: StreamedTable;
  /** By column name (mapped from the client's field names at subscribe). */
  filter: Filter | undefined;
  cursor: Cursor | null;
  seam: Seam<Change>;
  /** Bytes of the live changes the seam holds while the replay runs. */
  heldBytes: number;
  /** This feed batch's changes for it, sent as one message when the batch is routed. */
  pending: { changes: Change[]; first: FeedChange } | null;
  closed: boolean;
}

/** Whether a subscription can hold rows of this project: its filter does not exclude it. */
export function covers(sub: Pick<Subscription, 'table' | 'filter'>, projectId: string): boolean {
  const column = sub.table.projectColumn;
  const wanted = column === null ? undefined : sub.filter?.[column];
  return wanted === undefined || wanted === projectId;
}
