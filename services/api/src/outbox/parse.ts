// Pure helpers of the outbox tools: durations ("30d"), column diffs of a row's history,
// and the SQL of a filtered list, with every value a parameter.
import type { ChangeOp } from '@realtime/protocol';
import type { ColumnChange } from '../types';

const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const MAX_DURATION_MS = 100 * 365 * 24 * 3600 * 1000;

export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: "${text}" (use a number and a unit: 90s, 15m, 12h, 30d, 2w)`);
  const ms = Number(m[1]) * units[m[2]!]!;
  if (!Number.isSafeInteger(ms) || ms > MAX_DURATION_MS) throw new Error(`duration "${text}" is longer than 100 years`);
  return ms;
}

/**
 * RETENTION: how long stamped changes are kept, in ms, or null for `forever` (nothing is
 * pruned). Anything else is a duration as parseDuration reads it.
 */
export function parseRetention(text: string): number | null {
  if (text.trim() === 'forever') return null;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new Error(`${(err as Error).message}, or "forever" to keep every change`);
  }
}

/** Columns whose value differs between two versions of a row (either may be null). */
export function diffRows(before: Record<string, unknown> | null, after: Record<string, unknown> | null): ColumnChange[] {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  const changes: ColumnChange[] = [];
  for (const column of keys) {
    const from = before?.[column] ?? null;
    const to = after?.[column] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ column, from, to });
  }
  return changes;
}

export interface ListFilters {
  table?: string;
  op?: ChangeOp;
  rowId?: string;
  actor?: string;
  fromSeq?: number;
  toSeq?: number;
  since?: Date;
  until?: Date;
  limit: number;
  /** The page starts strictly below this change id (the previous page's `next`): a keyset position, so pages hold still while changes arrive. */
  before?: number;
}

/** A filtered set is counted up to this many changes; beyond it the total says "at least". */
export const OUTBOX_COUNT_CAP = 10_000;

/** The filters as SQL conditions, every value a parameter (numbered from `values`' length). */
function conditions(f: ListFilters, values: unknown[]): string[] {
  const where: string[] = [];
  const add = (sql: string, v: unknown) => {
    values.push(v);
    where.push(sql.replace('?', `$${values.length}`));
  };
  if (f.table) add('table_name = ?', f.table);
  if (f.op) add('op = ?', f.op);
  if (f.rowId) add('row_id = ?', f.rowId);
  if (f.actor) add('actor = ?', f.actor);
  if (f.fromSeq !== undefined) add('seq >= ?', f.fromSeq);
  if (f.toSeq !== undefined) add('seq <= ?', f.toSeq);
  if (f.since) add('created_at >= ?', f.since);
  if (f.until) add('created_at < ?', f.until);
  if (f.before !== undefined) add('id < ?', f.before);
  return where;
}

/**
 * The size of the filtered set (the page position left out), counted up to `cap` + 1
 * rows: an outbox of millions is never walked whole for a heading.
 */
export function countQuery(f: ListFilters, cap = OUTBOX_COUNT_CAP): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const where = conditions({ ...f, before: undefined }, values);
  values.push(cap + 1);
  return { text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM change_outbox ${where.length ? `WHERE ${where.join(' AND ')} ` : ''}LIMIT $${values.length}) c`, values };
}

/**
 * A page of the filtered list, newest first: at most `f.limit` changes and at most
 * `pageBytes` summed over their row_bytes, and always the first one (however large), so
 * that paging makes progress. The sizes are summed over the ids and row_bytes of the
 * LIMITed set alone; only the changes within the budget are read in full. Each row also
 * carries `fetched`, how many the LIMITed set held (up to limit + 1): more than the page
 * returns means there is a next page, below the page's last id. No offsets: a position
 * deep in a large outbox costs what the first page does (the primary key's index).
 */
export function listQuery(f: ListFilters, pageBytes: number): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const where = conditions(f, values);
  values.push(f.limit, pageBytes);
  const [limit, bytes] = [values.length - 1, values.length].map((n) => `$${n}`);
  return {
    text: `SELECT c.id, c.seq, c.table_name, c.op, c.row_id, c.actor, c.db_user, c.application_name, c.txid::text AS txid, c.created_at, c.committed_at, c.new_row, c.old_row, s.fetched
           FROM (
             SELECT id, row_number() OVER w AS n, sum(row_bytes) OVER w AS running, count(*) OVER () AS fetched
             FROM (SELECT id, row_bytes FROM change_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                   ORDER BY id DESC LIMIT ${limit} + 1) page
             WINDOW w AS (ORDER BY id DESC ROWS UNBOUNDED PRECEDING)
           ) s JOIN change_outbox c ON c.id = s.id
           WHERE s.n <= ${limit} AND (s.n = 1 OR s.running <= ${bytes})
           ORDER BY c.id DESC`,
    values,
  };
}

/** A fixed-width table for people; scripts use --json. */
export function renderTable(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return s.length > 48 ? `${s.slice(0, 45)}...` : s;
  };
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}
