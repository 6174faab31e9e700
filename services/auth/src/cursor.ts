// The stream cursor an HTTP list carries: the head seq, the fingerprint of the change at
// the head (the history the list was read from) and the snapshot the list was read in.
// Opaque to clients (base64url JSON and its HMAC-SHA256 under the server's secret), and
// signed because the gateway spends reads on what it says: a cursor made by hand could
// name any pending range, and make every resume sort the whole outbox.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { HEAD_SQL, fingerprint, fingerprintInputSql, pendingDigestSql } from '@realtime/db';
import { parseSnapshot, type Snapshot } from './snapshot';

/** The version of the cursors this server issues; a cursor of any other is stale (read the list again). */
export const CURSOR_VERSION = 2;

const fpSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).nullable();
const cursorSchema = z
  .object({
    v: z.literal(CURSOR_VERSION),
    h: z.number().int().min(0),
    f: fpSchema,
    s: z.string().max(2000),
    // The rows the snapshot saw unstamped: id range and digest (pendingDigestSql).
    u: z.tuple([z.number().int().min(1), z.number().int().min(1), z.string().regex(/^[0-9a-f]{16}$/)]).optional(),
  })
  .strict();
/**
 * What every cursor this project ever issued has in common: a version, a head and a
 * snapshot. Only to tell a stale cursor (unsigned, signed with another key, or of another
 * version) from one that was never ours; nothing in it is used.
 */
const issuedShape = z.looseObject({ v: z.number().int().min(1), h: z.number().int().min(0), s: z.string().max(2000) });

export interface Cursor {
  /** Every change with seq <= headSeq is in the list. */
  headSeq: number;
  /**
   * The fingerprint of the change stamped headSeq when the list was read (`fingerprint` in
   * @realtime/db); null when there was none (nothing written yet, or pruned to the floor).
   */
  headFp: string | null;
  /** Changes with a larger seq are in the list exactly when their txid is visible here. */
  snapshot: Snapshot;
  snapshotText: string;
  /**
   * The outbox rows the snapshot saw committed but not yet stamped (ids lo..hi, and their
   * digest): checked at a resume like the head's fingerprint. Null when there were none.
   */
  pending: Pending | null;
}

export interface Pending {
  lo: number;
  hi: number;
  digest: string;
}

/**
 * The secret also signs stream tokens (HS256, an HMAC of `header.payload`): the label keeps
 * a cursor's signature from ever being the signature of anything else made with it.
 */
const SIGNING_LABEL = 'realtime list cursor\n';

function signature(secret: Uint8Array, payload: string): Buffer {
  return createHmac('sha256', secret).update(SIGNING_LABEL).update(payload).digest();
}

/** `<base64url JSON>.<base64url HMAC-SHA256 of it>`, signed with the secret the gateway checks it with. */
export function encodeCursor(secret: Uint8Array, headSeq: number, snapshotText: string, headFp: string | null, pending: Pending | null = null): string {
  parseSnapshot(snapshotText);
  const u = pending ? { u: [pending.lo, pending.hi, pending.digest] } : {};
  const payload = Buffer.from(JSON.stringify({ v: CURSOR_VERSION, h: headSeq, f: headFp, s: snapshotText, ...u })).toString('base64url');
  return `${payload}.${signature(secret, payload).toString('base64url')}`;
}

export class CursorError extends Error {}

/**
 * A cursor shaped like one of ours that cannot be vouched for or read: unsigned (a list
 * kept in a browser from before cursors were signed), signed with another key (the secret
 * was rotated), or of another version (issued before a server upgrade). Its position's
 * history is unknown, so the subscription resyncs
 * (`history-changed`) and the client refetches: refusing it would leave such lists
 * without updates, and nothing in it is read.
 */
export class StaleCursorError extends CursorError {}

/** Whether an unverified payload has the shape of a cursor this project issues (parsed only for that answer). */
function cursorShaped(payload: string): boolean {
  try {
    return issuedShape.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))).success;
  } catch {
    return false;
  }
}

/** The signed payload of a cursor, or a CursorError; nothing of an unsigned or altered one is used. */
function verified(secret: Uint8Array, token: string): string {
  const dot = token.indexOf('.');
  if (dot < 0) {
    const message = 'cursor is not signed (made by hand, or issued before cursors were signed); read the list again and subscribe with the cursor it carries';
    throw cursorShaped(token) ? new StaleCursorError(message) : new CursorError(message);
  }
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = signature(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    const message = 'cursor signature does not match (altered, or issued by a server with another REALTIME_JWT_SECRET); read the list again and subscribe with the cursor it carries';
    throw cursorShaped(payload) ? new StaleCursorError(message) : new CursorError(message);
  }
  return payload;
}

/** The cursor a list carried, once its signature is checked against `secret`. */
export function decodeCursor(secret: Uint8Array, token: string): Cursor {
  const payload = verified(secret, token);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('cursor is not one this server issued (not base64url JSON); use the cursor of an HTTP list as it came');
  }
  const older = issuedShape.safeParse(raw);
  if (older.success && older.data.v !== CURSOR_VERSION) {
    throw new StaleCursorError(`cursor is of version ${older.data.v}, this server reads version ${CURSOR_VERSION} only (issued before an upgrade); read the list again and subscribe with the cursor it carries`);
  }
  const parsed = cursorSchema.safeParse(raw);
  if (!parsed.success) throw new CursorError('cursor is not one this server issued (unexpected fields); use the cursor of an HTTP list as it came');
  try {
    const headFp = parsed.data.f;
    const u = parsed.data.u;
    if (u && u[0] > u[1]) throw new Error('its pending range is empty');
    const pending = u ? { lo: u[0], hi: u[1], digest: u[2] } : null;
    return { headSeq: parsed.data.h, headFp, snapshot: parseSnapshot(parsed.data.s), snapshotText: parsed.data.s, pending };
  } catch (e) {
    throw new CursorError(`cursor holds a bad snapshot: ${(e as Error).message}`);
  }
}

/**
 * What a list's cursor is made of (`snapshot`, `head`, `fp_input`: what the fingerprint of
 * the change at the head is made of, null when no row has that seq), for a query in the
 * list's own transaction. The head is the stream's (HEAD_SQL), not `max(seq)`: after a
 * prune that left nothing stamped, `max(seq)` is below the floor and every subscribe
 * would resync.
 */
export const CURSOR_SQL = `SELECT pg_current_snapshot()::text AS snapshot, h.head, (SELECT ${fingerprintInputSql('c')} FROM change_outbox c WHERE c.seq = h.head) AS fp_input,
  p.lo AS pending_lo, p.hi AS pending_hi, p.digest AS pending_digest
  FROM (SELECT ${HEAD_SQL} AS head) h, (${pendingDigestSql('seq IS NULL')}) p`;

export type CursorRow = {
  snapshot: string;
  head: string | number | null;
  fp_input?: string | null;
  pending_lo?: string | null;
  pending_hi?: string | null;
  pending_digest?: string | null;
};

/** The cursor from a row of CURSOR_SQL, signed with `secret`. */
export function cursorFromRow(secret: Uint8Array, row: CursorRow): string {
  const pending = row.pending_lo && row.pending_hi && row.pending_digest ? { lo: Number(row.pending_lo), hi: Number(row.pending_hi), digest: row.pending_digest } : null;
  return encodeCursor(secret, Number(row.head ?? 0), row.snapshot, row.fp_input ? fingerprint(row.fp_input) : null, pending);
}

/**
 * The cursor for a list read in the same transaction (REPEATABLE READ, so that the list
 * and this snapshot are one): read it in that transaction, before or after the rows.
 */
export async function readCursor(secret: Uint8Array, client: { query: (sql: string) => Promise<{ rows: CursorRow[] }> }): Promise<string> {
  const { rows } = await client.query(CURSOR_SQL);
  return cursorFromRow(secret, rows[0]!);
}
