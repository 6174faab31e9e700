// A subscription's filter names the row's fields as clients see them (camelCase, as the
// API returns rows) or, as older clients do, the table's column names; routing and the
// replay's SQL compare columns, so the filter is mapped once, at subscribe, through the
// catalog. A field the table does not have is refused by name.
import { toCamelCase } from 'drizzle-orm/casing';
import type { StreamedTable } from '@realtime/db';
import type { Filter } from '@realtime/protocol';

export type FilterVerdict = { ok: true; filter: Filter | undefined } | { ok: false; message: string };

export function columnFilter(table: Pick<StreamedTable, 'name' | 'columns'>, filter: Filter | undefined): FilterVerdict {
  if (!filter) return { ok: true, filter: undefined };
  const columnOf = new Map<string, string>();
  for (const c of table.columns) {
    columnOf.set(c.name, c.name);
    columnOf.set(toCamelCase(c.name), c.name);
  }
  const out: Filter = {};
  for (const [field, value] of Object.entries(filter)) {
    const column = columnOf.get(field);
    if (!column) {
      const fields = table.columns.map((c) => toCamelCase(c.name)).join(', ');
      return { ok: false, message: `unknown column "${field}" in filter on ${table.name}: a filter names the row's fields (${fields}) or their column names` };
    }
    if (column in out) return { ok: false, message: `the filter on ${table.name} names ${column} twice (as ${column} and ${toCamelCase(column)})` };
    out[column] = value;
  }
  return { ok: true, filter: out };
}
