// The replication slot and whether logical replication can work at all here.
import type pg from 'pg';

export type Availability = { ok: true } | { ok: false; reason: string };

export async function walAvailability(client: pg.ClientBase): Promise<Availability> {
  const { rows } = await client.query<{ wal_level: string; can_replicate: boolean }>(
    `SELECT current_setting('wal_level') AS wal_level,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate`,
  );
  const r = rows[0]!;
  if (r.wal_level !== 'logical') return { ok: false, reason: `wal_level is ${r.wal_level}, not logical` };
  if (!r.can_replicate) return { ok: false, reason: 'the database role lacks the REPLICATION attribute' };
  return { ok: true };
}

export interface SlotInfo {
  exists: boolean;
  /** Slot names are per server: the database that owns it, which may not be ours. */
  database: string | null;
  ours: boolean;
  /** wal_status = lost: invalidated (max_slot_wal_keep_size); it can never stream again. */
  lost: boolean;
  activePid: number | null;
  confirmedFlush: string | null;
}

export async function slotInfo(client: pg.ClientBase, slot: string): Promise<SlotInfo> {
  const { rows } = await client.query<{ wal_status: string | null; active_pid: number | null; confirmed_flush_lsn: string | null; database: string | null; ours: boolean }>(
    `SELECT wal_status, active_pid, confirmed_flush_lsn::text, database, database IS NOT DISTINCT FROM current_database() AS ours
     FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const r = rows[0];
  if (!r) return { exists: false, database: null, ours: false, lost: false, activePid: null, confirmedFlush: null };
  return { exists: true, database: r.database, ours: r.ours, lost: r.wal_status === 'lost', activePid: r.active_pid, confirmedFlush: r.confirmed_flush_lsn };
}

export async function createSlot(client: pg.ClientBase, slot: string): Promise<void> {
  await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
}

/** Ends whatever still holds the slot (only ever called by the leader: the holder is a dead leader's walsender). */
export async function releaseSlot(client: pg.ClientBase, slot: string): Promise<void> {
  await client.query(
    `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
     WHERE slot_name = $1 AND database = current_database() AND active_pid IS NOT NULL AND active_pid <> pg_backend_pid()`,
    [slot],
  );
}

export async function dropSlot(client: pg.ClientBase, slot: string): Promise<void> {
  await releaseSlot(client, slot);
  await client.query(
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()`,
    [slot],
  );
}
