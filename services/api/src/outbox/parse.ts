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
  offset: number;
}

/**
 * A page of the filtered list, newest first: at most `f.limit` changes and at most
 * `pageBytes` summed over their row_bytes, and always the first one (however large), so
 * that paging makes progress. The sizes are summed over the ids and row_bytes of the
 * LIMITed set alone; only the changes within the budget are read in full. Each row also
 * carries `fetched`, how many the LIMITed set held (up to limit + 1): more than the page
 * returns means there is a next page.
 */
export function listQuery(f: ListFilters, pageBytes: number): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
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
  values.push(f.limit, f.offset, pageBytes);
  const [limit, offset, bytes] = [values.length - 2, values.length - 1, values.length].map((n) => `$${n}`);
  return {
    text: `SELECT c.id, c.seq, c.table_name, c.op, c.row_id, c.actor, c.db_user, c.application_name, c.txid::text AS txid, c.created_at, c.committed_at, c.new_row, c.old_row, s.fetched
           FROM (
             SELECT id, row_number() OVER w AS n, sum(row_bytes) OVER w AS running, count(*) OVER () AS fetched
             FROM (SELECT id, row_bytes FROM change_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                   ORDER BY id DESC LIMIT ${limit} + 1 OFFSET ${offset}) page
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
