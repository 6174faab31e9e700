// The change outbox is the log clients replay from; realtime_state is the one row the
// trigger and the replicator share (the NOTIFY flag, the replicator's mode and leader).
import { sql } from 'drizzle-orm';
import { changeOps } from '@realtime/protocol';
import { bigint, boolean, check, customType, index, integer, jsonb, pgTable, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** xid8 as a decimal string: a 64-bit transaction id that never wraps, comparable with pg_snapshot. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

export { changeOps, type ChangeOp } from '@realtime/protocol';

export const changeOutbox = pgTable(
  'change_outbox',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    // Null until the replicator stamps it; then dense and in commit order.
    seq: bigint({ mode: 'number' }),
    tableName: text().notNull(),
    op: text({ enum: changeOps }).notNull(),
    rowId: text().notNull(),
    newRow: jsonb().$type<Record<string, unknown>>(),
    oldRow: jsonb().$type<Record<string, unknown>>(),
    txid: xid8().notNull(),
    // The project the row belongs to (new row's, else old row's), as text, and on a move
    // the project it left: replay reads one project's changes through an index, not by
    // comparing jsonb. Null for tables without a project column.
    projectId: text(),
    movedFrom: text(),
    // About how many bytes the row images take (their jsonb sizes at capture): replay
    // and the outbox API size their pages by it without reading the rows themselves.
    rowBytes: integer().notNull().default(0),
    // Who wrote it: set by the server from the authenticated user (app.actor, app.user_id).
    actor: text(),
    actorId: uuid(),
    dbUser: text().notNull(),
    applicationName: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    committedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    // Partial indexes: a writer's insert (seq still null) never touches the seq index,
    // and the unstamped scan of NOTIFY mode reads only the rows it has to stamp.
    uniqueIndex('change_outbox_seq_key').on(t.seq).where(sql`${t.seq} is not null`),
    index('change_outbox_unstamped_idx').on(t.id).where(sql`${t.seq} is null`),
    index('change_outbox_table_row_idx').on(t.tableName, t.rowId, t.id),
    // Replay of a whole channel, in seq order, a page at a time: one range of this index
    // whatever the planner knows. Without it a table that grew faster than ANALYZE ran
    // was read through a bitmap of every later change of the channel, then sorted, for
    // every page (a replay five times slower).
    index('change_outbox_table_seq_idx').on(t.tableName, t.seq).where(sql`${t.seq} is not null`),
    // Replay of one project (a filter, or a user's grant): only that project's stamped
    // changes, in seq order; moves out of it through the small second index.
    index('change_outbox_project_idx').on(t.tableName, t.projectId, t.seq).where(sql`${t.seq} is not null and ${t.projectId} is not null`),
    index('change_outbox_moved_idx').on(t.tableName, t.movedFrom, t.seq).where(sql`${t.seq} is not null and ${t.movedFrom} is not null`),
    // BRIN: ids and times grow together, so a time range costs a few pages, and the
    // writer pays almost nothing to maintain it.
    index('change_outbox_created_at_brin').using('brin', t.createdAt),
    check('change_outbox_op_check', sql`${t.op} in ('INSERT', 'UPDATE', 'DELETE')`),
  ],
);

export const replicatorModes = ['wal', 'notify', 'down'] as const;
export type ReplicatorMode = (typeof replicatorModes)[number];

export const realtimeState = pgTable(
  'realtime_state',
  {
    id: smallint().primaryKey().default(1),
    // Read by notify_row_change() on every write: pg_notify runs only while this is on.
    notifyEnabled: boolean().notNull().default(false),
    mode: text({ enum: replicatorModes }).notNull().default('down'),
    // Who stamps (host:pid:token) and since when; null while no replicator leads.
    leader: text(),
    leaderSince: timestamp({ withTimezone: true }),
    // The replicator's slot, so that realtime_status can report its lag.
    slotName: text(),
    // False from the moment a slot is created until the scan after it finished: a
    // replicator that finds a slot not ready scans before it streams.
    slotReady: boolean().notNull().default(false),
    // Retention: every seq at or below it was pruned. Kept here, not derived from the
    // rows, so that the head survives pruning everything and seqs never start over.
    prunedThrough: bigint({ mode: 'number' }).notNull().default(0),
    // Why the mode is what it is (e.g. "wal_level is replica"), for operators.
    reason: text(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('realtime_state_singleton', sql`${t.id} = 1`),
    check('realtime_state_mode_check', sql`${t.mode} in ('wal', 'notify', 'down')`),
  ],
);
