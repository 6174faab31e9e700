// Which tables are streamed, read from Postgres's own catalog: a table is streamed when
// realtime_enable gave it the `realtime_change` trigger, and that trigger's arguments are
// its key, project column and numeric and int8 columns. Nothing in the code lists the tables: a migration that
// calls realtime_enable is the whole declaration, and the API, the gateway and the
// row shape read it from here.
import type pg from 'pg';

/** realtime_enable sends this (the table's name) when it declares a table. */
export const CATALOG_CHANNEL = 'realtime_catalog';

export interface CatalogColumn {
  /** The column's name in the database (snake_case). */
  name: string;
  /** As format_type prints it: `timestamp with time zone`, `bigint`, `numeric(12,2)`, `uuid`, ... */
  type: string;
}

export interface StreamedTable {
  name: string;
  /** The column the outbox records as row_id. */
  keyColumn: string;
  /** The column that names a row's project (recorded in the outbox as project_id), or null. */
  projectColumn: string | null;
  /** The numeric and int8 columns the trigger records as text (as realtime_enable found them). */
  exactColumns: string[];
  columns: CatalogColumn[];
}

/**
 * pg_trigger.tgargs: the trigger's arguments, each ended by a zero byte. The capture
 * trigger's are (key column), (key column, project column), or (key column, project
 * column or '' for none, numeric and int8 columns...); none means the key `id`.
 */
export function parseTriggerArgs(args: Buffer | string): { keyColumn: string; projectColumn: string | null; exactColumns: string[] } {
  const text = typeof args === 'string' ? args : args.toString('utf8');
  const parts = text.split('\0').slice(0, -1);
  return { keyColumn: parts[0] || 'id', projectColumn: parts[1] || null, exactColumns: parts.slice(2) };
}

/** A column of int8 or numeric by format_type's spelling: what the capture trigger records as text. */
export function isExactType(type: string): boolean {
  return /^(bigint|numeric)(\(\d+(,\d+)?\))?$/.test(type);
}

/**
 * numeric and int8 columns the trigger does not list: added or retyped after the table was
 * declared, they are captured as JSON numbers (10.00 arrives as "10") until realtime_enable
 * is called again.
 */
export function unlistedExactColumns(table: StreamedTable): string[] {
  return table.columns.filter((c) => isExactType(c.type) && !table.exactColumns.includes(c.name)).map((c) => c.name);
}

/** A pool, a client, or anything that runs one statement and gives its rows. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string): Promise<{ rows: R[] }>;
}

const CATALOG_SQL = `
  SELECT c.relname AS name, t.tgargs AS args,
         json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum) AS columns
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE t.tgname = 'realtime_change' AND NOT t.tgisinternal
  GROUP BY c.relname, t.tgargs
  ORDER BY c.relname`;

/** Every streamed table of schema public, by name. */
export async function loadStreamedTables(db: Queryable): Promise<Map<string, StreamedTable>> {
  const { rows } = await db.query<{ name: string; args: Buffer; columns: CatalogColumn[] }>(CATALOG_SQL);
  return new Map(rows.map((r) => [r.name, { name: r.name, ...parseTriggerArgs(r.args), columns: r.columns }]));
}
