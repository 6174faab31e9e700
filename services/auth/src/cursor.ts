// The stream cursor an HTTP list carries: the head seq and the snapshot the list was
// read in. Opaque to clients (base64url JSON), checked when it comes back.
import { z } from 'zod';
import { HEAD_SQL } from '@realtime/db';
import { parseSnapshot, type Snapshot } from './snapshot';

const cursorSchema = z.object({ v: z.literal(1), h: z.number().int().min(0), s: z.string().max(2000) }).strict();

export interface Cursor {
  /** Every change with seq <= headSeq is in the list. */
  headSeq: number;
  /** Changes with a larger seq are in the list exactly when their txid is visible here. */
  snapshot: Snapshot;
  snapshotText: string;
}

export function encodeCursor(headSeq: number, snapshotText: string): string {
  parseSnapshot(snapshotText);
  return Buffer.from(JSON.stringify({ v: 1, h: headSeq, s: snapshotText })).toString('base64url');
}

export class CursorError extends Error {}

export function decodeCursor(token: string): Cursor {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('cursor is not one this server issued (not base64url JSON); use the cursor of an HTTP list as it came');
  }
  const parsed = cursorSchema.safeParse(raw);
  if (!parsed.success) throw new CursorError('cursor is not one this server issued (unexpected fields); use the cursor of an HTTP list as it came');
  try {
    return { headSeq: parsed.data.h, snapshot: parseSnapshot(parsed.data.s), snapshotText: parsed.data.s };
  } catch (e) {
    throw new CursorError(`cursor holds a bad snapshot: ${(e as Error).message}`);
  }
}

/**
 * What a list's cursor is made of (`snapshot`, `head`), for a query in the list's own
 * transaction. The head is the stream's (HEAD_SQL), not `max(seq)`: after a prune that
 * left nothing stamped, `max(seq)` is below the floor and every subscribe would resync.
 */
export const CURSOR_SQL = `SELECT pg_current_snapshot()::text AS snapshot, ${HEAD_SQL} AS head`;

/**
 * The cursor for a list read in the same transaction (REPEATABLE READ, so that the list
 * and this snapshot are one): read it in that transaction, before or after the rows.
 */
export async function readCursor(client: { query: (sql: string) => Promise<{ rows: { snapshot: string; head: string | null }[] }> }): Promise<string> {
  const { rows } = await client.query(CURSOR_SQL);
  return encodeCursor(Number(rows[0]?.head ?? 0), rows[0]!.snapshot);
}
