// The two ways rows get their seq, each one statement: pieces from the WAL in commit
// order, or (NOTIFY mode) whatever is visible and unstamped, in id order. Both number
// only rows whose seq is still null, so a row seen twice (a replayed transaction, or a
// row found by both the scan and the stream) keeps its first seq and uses up no other.
// Each statement also sends the one `realtime_stamped` wake-up for gateways in other
// processes: NOTIFY goes out at commit, so a wake-up never names a head nobody can read,
// and it costs no round trip of its own.
import type pg from 'pg';
import { HEAD_SQL, fingerprint, fingerprintInputSql, type StampedChange } from '@realtime/db';
import { microsToIso } from '../wal/lsn';
import type { Piece } from '../wal/transactions';

export type { StampedChange };

export interface StampResult {
  head: number;
  stamped: number;
  /** Empty unless rows were asked for; in seq order. */
  changes: StampedChange[];
}

export interface Row {
  id: string;
  seq: string;
  table_name: string;
  op: StampedChange['op'];
  row_id: string;
  new_row: Record<string, unknown> | null;
  old_row: Record<string, unknown> | null;
  txid: string;
  actor: string | null;
  committed_at: Date;
  row_bytes: number;
  fp_input: string;
}

const FULL = `c.id, c.seq, c.table_name, c.op, c.row_id, c.new_row, c.old_row, c.txid::text AS txid, c.actor, c.committed_at, c.row_bytes, ${fingerprintInputSql('c')} AS fp_input`;

/** A stamped outbox row (the columns of FULL) as it is handed on. */
export function toStampedChange(r: Row): StampedChange {
  return {
    id: Number(r.id),
    seq: Number(r.seq),
    table: r.table_name,
    op: r.op,
    rowId: r.row_id,
    newRow: r.new_row,
    oldRow: r.old_row,
    txid: r.txid,
    actor: r.actor,
    committedAt: r.committed_at.toISOString(),
    rowBytes: r.row_bytes,
    fp: fingerprint(r.fp_input),
  };
}

function result(head: number, rows: Row[], rowCount: number | null, withRows: boolean): StampResult {
  const stamped = rowCount ?? 0;
  const changes = withRows ? rows.map(toStampedChange).sort((a, b) => a.seq - b.seq) : [];
  return { head: head + stamped, stamped, changes };
}

/**
 * Stamp the rows of `pieces`, or nothing at all when one of them is not visible yet:
 * Postgres sends a transaction once its commit record is flushed, which can be a moment
 * before other sessions see it. Stamping the visible part and acknowledging would lose
 * the rest, so the caller waits and tries again (`complete: false`).
 */
export async function stampPieces(client: pg.ClientBase, pieces: Piece[], head: number, withRows: boolean, channel: string): Promise<StampResult & { complete: boolean }> {
  const ids: number[] = [];
  const pieceOf: number[] = [];
  const times: string[] = [];
  for (const [i, p] of pieces.entries()) {
    times.push(microsToIso(p.commitTime));
    for (const id of p.ids) {
      ids.push(id);
      pieceOf.push(i + 1);
    }
  }
  if (ids.length === 0) return { head, stamped: 0, changes: [], complete: true };
  const { rows } = await client.query<Row & { present: number }>(
    `WITH input AS (
       SELECT t.id, t.piece, t.ord FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY AS t(id, piece, ord)
     ), present AS (
       SELECT i.id, i.piece, i.ord, c.seq FROM input i JOIN change_outbox c ON c.id = i.id
     ), todo AS (
       SELECT p.id, ($3::timestamptz[])[p.piece] AS ts, row_number() OVER (ORDER BY p.ord) AS n
       FROM present p
       WHERE p.seq IS NULL AND (SELECT count(*) FROM present) = $5
     ), stamped AS (
       UPDATE change_outbox c SET seq = $4::bigint + todo.n, committed_at = todo.ts
       FROM todo WHERE c.id = todo.id
       RETURNING ${withRows ? FULL : 'c.seq'}
     ), notified AS (
       SELECT pg_notify($6, ($4::bigint + (SELECT count(*) FROM stamped))::text) WHERE EXISTS (SELECT 1 FROM stamped)
     )
     SELECT (SELECT count(*) FROM present)::int AS present, (SELECT count(*) FROM notified)::int AS notified, s.*
     FROM (SELECT) AS one LEFT JOIN stamped s ON true`,
    [ids, pieceOf, times, head, ids.length, channel],
  );
  const present = rows[0]?.present ?? 0;
  if (present < ids.length) return { head, stamped: 0, changes: [], complete: false };
  const stampedRows = rows.filter((r) => r.seq !== null);
  return { ...result(head, stampedRows, stampedRows.length, withRows), complete: true };
}

/** NOTIFY mode: stamp up to `limit` visible unstamped rows in id order; commit time is now(). */
export async function stampVisible(client: pg.ClientBase, head: number, limit: number, withRows: boolean, channel: string): Promise<StampResult> {
  const { rows } = await client.query<Row>(
    `WITH todo AS (
       SELECT id, row_number() OVER (ORDER BY id) AS n
       FROM (SELECT id FROM change_outbox WHERE seq IS NULL ORDER BY id LIMIT $2) s
     ), stamped AS (
       UPDATE change_outbox c SET seq = $1::bigint + todo.n, committed_at = now()
       FROM todo WHERE c.id = todo.id
       RETURNING ${withRows ? FULL : 'c.seq'}
     ), notified AS (
       SELECT pg_notify($3, ($1::bigint + (SELECT count(*) FROM stamped))::text) WHERE EXISTS (SELECT 1 FROM stamped)
     )
     SELECT s.*, (SELECT count(*) FROM notified)::int AS notified FROM stamped s`,
    [head, limit, channel],
  );
  return result(head, rows, rows.length, withRows);
}

/**
 * Where this server's WAL is inserted up to and flushed up to. A stamp that returned
 * before this was asked has its commit record below `insert`; once `flush` passes that,
 * the stamp survives a crash of Postgres.
 */
export async function walPositions(client: pg.ClientBase): Promise<{ insert: string; flush: string }> {
  const { rows } = await client.query<{ insert: string; flush: string }>(
    'SELECT pg_current_wal_insert_lsn()::text AS insert, pg_current_wal_flush_lsn()::text AS flush',
  );
  return rows[0]!;
}

export async function readHead(client: pg.ClientBase): Promise<number> {
  // Pruning may have removed every stamped row: the head it recorded still counts.
  const { rows } = await client.query<{ head: string | null }>(`SELECT ${HEAD_SQL} AS head`);
  return Number(rows[0]?.head ?? 0);
}
