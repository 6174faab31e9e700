// realtime_state, the row the trigger and operators read: the NOTIFY flag, the mode and
// why, the leader, and the slot with its readiness.
import type pg from 'pg';
import type { Mode } from './mode';

export async function claimLeadership(client: pg.ClientBase, leader: string, slot: string): Promise<void> {
  await client.query(`UPDATE realtime_state SET leader = $1, leader_since = now(), slot_name = $2, updated_at = now() WHERE id = 1`, [leader, slot]);
}

export async function setMode(client: pg.ClientBase, mode: Mode, reason: string | null, notify?: boolean): Promise<void> {
  await client.query(
    `UPDATE realtime_state SET mode = $1, reason = $2, notify_enabled = coalesce($3, notify_enabled), updated_at = now() WHERE id = 1`,
    [mode, reason, notify ?? null],
  );
}

export async function setSlotReady(client: pg.ClientBase, ready: boolean): Promise<void> {
  await client.query(`UPDATE realtime_state SET slot_ready = $1, updated_at = now() WHERE id = 1`, [ready]);
}

export async function slotReady(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ slot_ready: boolean }>('SELECT slot_ready FROM realtime_state WHERE id = 1');
  return rows[0]?.slot_ready ?? false;
}

export async function stepDown(client: pg.ClientBase, leader: string): Promise<void> {
  await client.query(
    `UPDATE realtime_state SET mode = 'down', reason = 'replicator stopped', leader = NULL, leader_since = NULL, notify_enabled = false, updated_at = now()
     WHERE id = 1 AND leader = $1`,
    [leader],
  );
}
