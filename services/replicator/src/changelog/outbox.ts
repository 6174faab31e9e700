// The outbox reads of the change log appender: the head, the fingerprint at a seq, and
// stamped rows in seq order, as the replicator hands them on (toStampedChange).
import type pg from 'pg';
import { HEAD_SQL, fingerprint, fingerprintInputSql } from '@realtime/db';
import type { LogChange } from '@realtime/changelog';

export async function outboxHead(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ head: string }>(`SELECT ${HEAD_SQL}::text AS head`);
  return Number(rows[0]?.head ?? 0);
}

/** The fingerprint of the outbox row stamped `seq`, null when there is none. */
export async function fingerprintAt(pool: pg.Pool, seq: number): Promise<string | null> {
  const { rows } = await pool.query<{ input: string }>(`SELECT ${fingerprintInputSql()} AS input FROM change_outbox WHERE seq = $1`, [seq]);
  const input = rows[0]?.input;
  return input === undefined ? null : fingerprint(input);
}

interface Row {
  seq: string;
  table_name: string;
  op: LogChange['op'];
  new_row: LogChange['newRow'];
  old_row: LogChange['oldRow'];
  txid: string;
  committed_at: Date;
  row_bytes: number;
  fp_input: string;
}

/** Up to `limit` stamped changes with seq in (after, upTo], in seq order (the bigint's, not the text column's). */
export async function stampedBetween(pool: pg.Pool, after: number, upTo: number, limit: number): Promise<LogChange[]> {
  const { rows } = await pool.query<Row>(
    `SELECT seq::text AS seq, table_name, op, new_row, old_row, txid::text AS txid, committed_at, row_bytes, ${fingerprintInputSql()} AS fp_input
     FROM change_outbox c WHERE c.seq > $1 AND c.seq <= $2 ORDER BY c.seq LIMIT $3`,
    [after, upTo, limit],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    table: r.table_name,
    op: r.op,
    newRow: r.new_row,
    oldRow: r.old_row,
    txid: r.txid,
    committedAt: r.committed_at.toISOString(),
    rowBytes: r.row_bytes,
    fp: fingerprint(r.fp_input),
  }));
}
