// The SQL of a list's page and of its total, from a parsed request. Every value is a
// parameter cast to its column's type (parsed before, so a cast never fails), and a page
// starts at its position with a row comparison `(sort key, key) < (value, key)` that the
// list's index answers as its condition: the cost of a page does not grow with its depth.
import { sql, type SQL } from 'drizzle-orm';
import type { ListRequest } from './params';
import type { ListColumn, ListSpec } from './spec';

const column = (c: ListColumn): SQL => sql`${sql.identifier(c.name)}`;

/** The value a list compares and orders by: realtime_list_time(column) for a timestamp, else the column. */
export function sortKey(c: ListColumn): SQL {
  return c.kind === 'timestamp' ? sql`realtime_list_time(${column(c)})` : column(c);
}

const param = (value: unknown, cast: string): SQL => sql`${value}::${sql.raw(cast)}`;

function where(req: ListRequest, spec: ListSpec, withPosition: boolean): SQL | undefined {
  const parts = req.filters.map((f) => sql`${sortKey(f.column)} = ${param(f.value, f.column.cast)}`);
  if (withPosition && req.after) {
    const key = spec.key;
    const op = sql.raw(req.order.desc ? '<' : '>');
    const sort = spec.columns.get(req.order.by)!;
    parts.push(
      sort === key
        ? sql`${column(key)} ${op} ${param(req.after.key, key.cast)}`
        : sql`(${sortKey(sort)}, ${column(key)}) ${op} (${param(req.after.value, sort.cast)}, ${param(req.after.key, key.cast)})`,
    );
  }
  return parts.length > 0 ? sql`WHERE ${sql.join(parts, sql` AND `)}` : undefined;
}

/** How the sort value leaves SQL: a timestamp in the SQL form parseIsoMs gives, the rest as text. */
function sortOut(c: ListColumn): SQL {
  return c.kind === 'timestamp' ? sql`to_char(${sortKey(c)}, 'YYYY-MM-DD HH24:MI:SS.MS')` : sql`${column(c)}::text`;
}

/**
 * One page: `limit + 1` rows (the extra one says whether there is a next page), each as
 * `row` (the row's JSON), `sort` and `key` (its position, as text).
 */
export function pageSql(spec: ListSpec, req: ListRequest, rowJson: SQL): SQL {
  const sort = spec.columns.get(req.order.by)!;
  const dir = sql.raw(req.order.desc ? 'DESC' : 'ASC');
  const order = sort === spec.key ? sql`${column(spec.key)} ${dir}` : sql`${sortKey(sort)} ${dir}, ${column(spec.key)} ${dir}`;
  return sql`SELECT ${rowJson} AS row, ${sortOut(sort)} AS sort, ${column(spec.key)}::text AS key FROM ${sql.identifier(spec.table)} ${where(req, spec, true)} ORDER BY ${order} LIMIT ${req.limit + 1}`;
}

/** The size of the filtered set, whatever the position. */
export function countSql(spec: ListSpec, req: ListRequest): SQL {
  return sql`SELECT count(*)::int AS total FROM ${sql.identifier(spec.table)} ${where(req, spec, false)}`;
}
