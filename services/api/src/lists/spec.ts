// What a resource's list can be filtered and ordered by, derived from its drizzle table:
// every column filters by equality (its value parsed by its type); the key, and each NOT
// NULL column of an orderable type that an index serves, order it. An index serves the
// order by a column when it is `(project column, sort key, key)`: the sort key being the
// column itself, or realtime_list_time(column) for a timestamp (listTime in the schema).
// Adding an order is adding such an index to the schema, nothing here. The default order,
// newest first by createdAt, is kept even without its index (the API warns at start:
// such a list sorts its whole filtered set).
import { getTableColumns, getTableName, is, SQL, Column } from 'drizzle-orm';
import { toSnakeCase } from 'drizzle-orm/casing';
import { getTableConfig, IndexedColumn, type PgTable } from 'drizzle-orm/pg-core';

/** How a column's value is read from a query string and compared in SQL. */
export type ValueKind = 'uuid' | 'text' | 'integer' | 'smallint' | 'bigint' | 'numeric' | 'real' | 'boolean' | 'timestamp' | 'unfilterable';

export interface ListColumn {
  /** The camelCase field of the rows, and of the query parameter. */
  field: string;
  /** The SQL column. */
  name: string;
  kind: ValueKind;
  notNull: boolean;
  /** A text column's allowed values (its enum), when it has them. */
  values?: readonly string[];
  /** The SQL type a value is cast to before it is compared (timestamps: their sort key's). */
  cast: string;
}

export interface ListSpec {
  /** The resource's path under /api, for messages. */
  path: string;
  table: string;
  key: ListColumn;
  /** Every column, by field. */
  columns: Map<string, ListColumn>;
  /** The fields a list may be ordered by, the key included. */
  orderable: string[];
  /** Today's order: newest first where rows have a NOT NULL createdAt, else the key's descending. */
  defaultOrder: { by: string; desc: boolean };
  /** Orderable fields no index serves (only ever the default's createdAt): each such page sorts the whole filtered set. */
  unindexed: string[];
}

const KINDS: Record<string, ValueKind> = {
  PgUUID: 'uuid',
  PgText: 'text',
  PgVarchar: 'text',
  PgChar: 'text',
  PgInteger: 'integer',
  PgSerial: 'integer',
  PgSmallInt: 'smallint',
  PgSmallSerial: 'smallint',
  PgBigInt53: 'bigint',
  PgBigInt64: 'bigint',
  PgBigSerial53: 'bigint',
  PgBigSerial64: 'bigint',
  PgNumeric: 'numeric',
  PgNumericNumber: 'numeric',
  PgNumericBigInt: 'numeric',
  PgReal: 'real',
  PgDoublePrecision: 'real',
  PgBoolean: 'boolean',
  PgTimestamp: 'timestamp',
  PgTimestampString: 'timestamp',
};

/** The kind of a drizzle column type; json, arrays, dates and the rest cannot be filtered. */
export function kindOf(columnType: string): ValueKind {
  return KINDS[columnType] ?? 'unfilterable';
}

/** The type a value of that kind is cast to: varchar(n) compares as text, numeric(p, s) unrounded. */
export function castOf(kind: ValueKind, sqlType: string): string {
  if (kind === 'real') return sqlType === 'real' ? 'real' : 'double precision';
  if (kind === 'text') return 'text';
  return kind === 'unfilterable' ? sqlType : kind;
}

/** Kinds a list may be ordered by: their order in SQL is the order a client sees. */
export const ORDERABLE_KINDS: readonly ValueKind[] = ['timestamp', 'integer', 'smallint', 'uuid'];

/** How an index part or a sort key reads: a column's name, or `realtime_list_time(name)`. */
export const timePart = (name: string) => `realtime_list_time(${name})`;
export const sortPart = (c: ListColumn) => (c.kind === 'timestamp' ? timePart(c.name) : c.name);

/**
 * Pure: the orders the indexes serve. `indexes` are each index's parts as sortPart writes
 * them; `project` is the project column's name (none when the table is its own project).
 */
export function orderableFields(columns: readonly ListColumn[], key: ListColumn, project: string | null, indexes: readonly (readonly string[])[]): string[] {
  const lead = project && project !== key.name ? [project] : [];
  const served = new Set(indexes.map((parts) => parts.join(',')));
  const out = [key.field];
  for (const c of columns) {
    if (c === key || !c.notNull || !ORDERABLE_KINDS.includes(c.kind)) continue;
    if (served.has([...lead, sortPart(c), key.name].join(','))) out.push(c.field);
  }
  return out;
}

/** Newest first by a NOT NULL createdAt timestamp, else by key, descending. */
export function defaultOrderOf(columns: readonly ListColumn[], key: ListColumn): ListSpec['defaultOrder'] {
  const created = columns.find((c) => c.field === 'createdAt' && c.kind === 'timestamp' && c.notNull);
  return { by: created ? 'createdAt' : key.field, desc: true };
}

const sqlName = (c: { name: string | undefined; keyAsName: boolean }, field = '') => (c.keyAsName ? toSnakeCase(c.name ?? field) : (c.name ?? field));

/** An index's parts as sortPart writes them; an expression other than realtime_list_time(column) reads as `?`. */
function indexParts(parts: readonly unknown[]): string[] {
  return parts.map((p) => {
    if (is(p, IndexedColumn)) return sqlName(p);
    if (is(p, SQL)) {
      const chunks = p.queryChunks;
      const columns = chunks.filter((c): c is Column => is(c, Column));
      const text = chunks
        .filter((c) => !is(c, Column))
        .map((c) => ((c as { value?: string[] }).value ?? ['?']).join(''))
        .join('');
      if (columns.length === 1 && text === 'realtime_list_time()') return timePart(sqlName(columns[0]!));
    }
    return '?';
  });
}

/** The list's spec of a drizzle table with its key and project column. */
export function listSpecOf(path: string, table: PgTable, keyField: string, projectField: string | null): ListSpec {
  const columns = new Map<string, ListColumn>();
  for (const [field, c] of Object.entries(getTableColumns(table))) {
    const kind = kindOf(c.columnType);
    const values = kind === 'text' && c.enumValues && c.enumValues.length > 0 ? c.enumValues : undefined;
    columns.set(field, { field, name: sqlName(c, field), kind, notNull: c.notNull, cast: castOf(kind, c.getSQLType()), ...(values ? { values } : {}) });
  }
  const key = columns.get(keyField);
  if (!key) throw new Error(`${getTableName(table)}: no column ${keyField} for the key`);
  const project = projectField ? (columns.get(projectField)?.name ?? null) : null;
  const indexes = getTableConfig(table).indexes.map((i) => indexParts(i.config.columns));
  const served = orderableFields([...columns.values()], key, project, indexes);
  const defaultOrder = defaultOrderOf([...columns.values()], key);
  const unindexed = served.includes(defaultOrder.by) ? [] : [defaultOrder.by];
  return { path, table: getTableName(table), key, columns, orderable: [...served, ...unindexed], defaultOrder, unindexed };
}
