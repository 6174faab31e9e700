// Idempotency-Key: a write sent again (a retry after a lost response) is answered, not
// applied again. The key is claimed in the write's own transaction before the write
// (INSERT, so that a concurrent duplicate waits on the row lock until this one commits or
// rolls back) and the response is stored before commit. A write that fails rolls its key
// back with it: only successful responses are kept, and a refused request's retry is
// judged again. Keys are the user's: row-level security lets a request see only its own.
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { HttpError } from '../errors';

/** What a request is, for telling a retry from another request under the same key. */
export interface WriteRequest {
  method: string;
  /** The route with the row's key, e.g. /api/projects/<id>: not the raw URL, whose encoding and query may vary. */
  path: string;
  body: unknown;
  /** The version If-Match asked for, parsed: `"3"` and `3` are one request. */
  ifMatch: number | null;
}

/** What a successful write answers (and a replay answers again). */
export interface WriteResponse {
  status: number;
  /** The JSON body; null for a 204. */
  body: unknown;
  etag: string | null;
}

export interface WriteOutcome extends WriteResponse {
  /** txid_current() of the transaction that wrote: the txid of its outbox rows. */
  txid: string;
  replayed: boolean;
}

/** JSON with object keys sorted at every level: two bodies that parse the same hash the same. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function requestHash(req: WriteRequest): string {
  return createHash('sha256')
    .update(canonicalJson([req.method.toUpperCase(), req.path, req.body ?? null, req.ifMatch]))
    .digest('hex');
}

export interface StoredKey {
  request_hash: string;
  status: number | null;
  body: unknown;
  etag: string | null;
  txid: string | null;
}

/** What a key already stored means for a request that carries it again. */
export function judgeStored(key: string, stored: StoredKey, hash: string): WriteOutcome {
  if (stored.request_hash !== hash) {
    throw new HttpError(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key ${key} was used with another request (method, path, body or If-Match differ): a new request needs a new key`,
    );
  }
  // Committed keys always carry their response; an empty one would be a bug, not a replay.
  if (stored.status === null || stored.txid === null) throw new Error(`idempotency key ${key} was committed without its response`);
  return { status: stored.status, body: stored.body ?? null, etag: stored.etag, txid: stored.txid, replayed: true };
}

type Claim = { kind: 'new' } | { kind: 'stored'; stored: StoredKey };

async function claim(tx: NodePgDatabase, userId: string, key: string, hash: string): Promise<Claim> {
  // Read committed: a statement after the INSERT sees what the concurrent duplicate committed.
  for (let attempt = 0; attempt < 2; attempt++) {
    const inserted = await tx.execute(
      sql`INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES (${userId}, ${key}, ${hash}) ON CONFLICT DO NOTHING RETURNING 1 AS claimed`,
    );
    if (inserted.rows.length > 0) return { kind: 'new' };
    const { rows } = await tx.execute<StoredKey & Record<string, unknown>>(
      sql`SELECT request_hash, status, body, etag, txid FROM idempotency_keys WHERE user_id = ${userId} AND key = ${key}`,
    );
    if (rows[0]) return { kind: 'stored', stored: rows[0] };
    // Pruned between the two statements: claim it again.
  }
  throw new Error(`idempotency key ${key}: neither claimed nor found`);
}

/**
 * Runs a write in `tx` (the user's transaction, read committed) under an optional
 * Idempotency-Key: a replay answers what the first request answered and writes nothing.
 */
export async function idempotentWrite(
  tx: NodePgDatabase,
  opts: { userId: string; key: string | null; request: WriteRequest },
  write: () => Promise<WriteResponse>,
): Promise<WriteOutcome> {
  const hash = opts.key === null ? null : requestHash(opts.request);
  if (opts.key !== null) {
    const c = await claim(tx, opts.userId, opts.key, hash!);
    if (c.kind === 'stored') return judgeStored(opts.key, c.stored, hash!);
  }
  const response = await write();
  const { rows } = await tx.execute<{ txid: string }>(sql`SELECT txid_current()::text AS txid`);
  const txid = rows[0]!.txid;
  if (opts.key !== null) {
    await tx.execute(
      sql`UPDATE idempotency_keys SET status = ${response.status}, body = ${response.body === null ? null : JSON.stringify(response.body)}::jsonb, etag = ${response.etag}, txid = ${txid}
          WHERE user_id = ${opts.userId} AND key = ${opts.key}`,
    );
  }
  return { ...response, txid, replayed: false };
}
