// The stream's state as the database holds it (the realtime_status view): what /status
// shows and /metrics gauges, read the same way by every process, whichever parts it runs.
import type pg from 'pg';
import client from 'prom-client';
import { HEAD_SQL } from './head';

/** How the replicator learns of outbox rows: the WAL, NOTIFY and scans, or not at all. */
export type ReplicationMode = 'wal' | 'notify' | 'down';

export interface DbStatus {
  mode: ReplicationMode;
  reason: string | null;
  leader: string | null;
  headSeq: number;
  backlog: number;
  ackedLsn: string | null;
  slotLagBytes: number | null;
  notifyEnabled: boolean;
}

export async function readStatus(client: pg.ClientBase | pg.Pool): Promise<DbStatus> {
  const { rows } = await client.query(
    `SELECT mode, reason, leader, ${HEAD_SQL} AS head_seq, backlog, acked_lsn::text, slot_lag_bytes, notify_enabled FROM realtime_status`,
  );
  const r = rows[0];
  return {
    mode: r.mode,
    reason: r.reason,
    leader: r.leader,
    headSeq: Number(r.head_seq ?? 0),
    backlog: Number(r.backlog ?? 0),
    ackedLsn: r.acked_lsn,
    slotLagBytes: r.slot_lag_bytes === null ? null : Number(r.slot_lag_bytes),
    notifyEnabled: r.notify_enabled,
  };
}

let dbGauges = false;
/** Gauges read from the database at each scrape (once per process, on prom-client's default registry). */
export function registerDatabaseGauges(pool: pg.Pool): void {
  if (dbGauges) return;
  dbGauges = true;
  new client.Gauge({
    name: 'realtime_unstamped_backlog',
    help: 'Outbox rows not stamped yet.',
    async collect() {
      const { rows } = await pool.query(`SELECT count(*)::bigint AS n FROM change_outbox WHERE seq IS NULL`);
      this.set(Number(rows[0].n));
    },
  });
  new client.Gauge({
    name: 'realtime_slot_lag_bytes',
    help: 'WAL the replication slot holds behind the server position (absent without a slot).',
    async collect() {
      const { rows } = await pool.query(`SELECT slot_lag_bytes FROM realtime_status`);
      if (rows[0]?.slot_lag_bytes !== null && rows[0]?.slot_lag_bytes !== undefined) this.set(Number(rows[0].slot_lag_bytes));
    },
  });
  new client.Gauge({
    name: 'realtime_head_seq',
    help: 'The highest seq stamped.',
    async collect() {
      const { rows } = await pool.query(`SELECT ${HEAD_SQL} AS h`);
      this.set(Number(rows[0].h));
    },
  });
}
