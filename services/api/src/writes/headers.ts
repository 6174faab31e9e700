// The write headers a client sends (Idempotency-Key, If-Match) and the ETag the API
// answers with, checked before any database work: a malformed one is a 400 that names
// the header, never a write that ignored it.
import { HttpError } from '../errors';

export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,200}$/;

/** Versions are Postgres integers. */
const MAX_VERSION = 2 ** 31 - 1;

/** A header Node gives as an array was sent more than once: which one to honour is not ours to guess. */
function single(name: string, value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) throw badHeader(name, 'send it once');
  return value;
}

function badHeader(name: string, why: string): HttpError {
  return new HttpError(400, 'BAD_REQUEST', `invalid header ${name}: ${why}`, {}, { fields: { [name]: why } });
}

/** The Idempotency-Key, or null without one. */
export function parseIdempotencyKey(value: string | string[] | undefined): string | null {
  const v = single('Idempotency-Key', value);
  if (v === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(v)) throw badHeader('Idempotency-Key', 'expected 1 to 200 characters of A-Z, a-z, 0-9, _ . : - (a UUID will do)');
  return v;
}

/**
 * The version an If-Match asks for: `"3"` as the ETag gives it, or a bare 3. Null without
 * one, and for `*` (any current row: the write then only needs the row to exist, as
 * without the header). A weak tag never matches by RFC 9110, and a list of tags is not
 * something a client of one row means: both are refused rather than ignored.
 */
export function parseIfMatch(value: string | string[] | undefined): number | null {
  const v = single('If-Match', value)?.trim();
  if (v === undefined) return null;
  if (v === '*') return null;
  const m = /^(?:"(\d{1,10})"|(\d{1,10}))$/.exec(v);
  const n = m ? Number(m[1] ?? m[2]) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_VERSION) throw badHeader('If-Match', 'expected one row version as the ETag gives it, e.g. "3" (or 3, or *)');
  return n;
}

export function etagOf(version: number): string {
  return `"${version}"`;
}
