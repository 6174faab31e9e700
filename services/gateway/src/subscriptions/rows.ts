// Rows as the HTTP API returns them: the drizzle schema's own property names (camelCase)
// and ISO timestamps, so that a cache merges a streamed row like a fetched one.
import { getTableColumns, getTableName, type Table } from 'drizzle-orm';
import { toCamelCase, toSnakeCase } from 'drizzle-orm/casing';
import { dataLayers, extractionJobs, extractionResults, projects, supplierMatches } from '@realtime/db/schema';
import type { ApiRow } from '@realtime/protocol';
import type { DbRow } from './route';

interface Column {
  key: string;
  timestamp: boolean;
}


function columnsOf(table: Table): Map<string, Column> {
  const map = new Map<string, Column>();
  for (const [key, col] of Object.entries(getTableColumns(table))) {
    // The schema is written with casing: 'snake_case': a column named after its key
    // lives in the database under the key's snake_case form.
    const dbName = col.keyAsName ? toSnakeCase(key) : col.name;
    map.set(dbName, { key, timestamp: col.columnType === 'PgTimestamp' || col.columnType === 'PgTimestampString' });
  }
  return map;
}

const known = new Map<string, Map<string, Column>>(
  [projects, extractionJobs, extractionResults, dataLayers, supplierMatches].map((t) => [getTableName(t), columnsOf(t)]),
);

/** Columns a filter may name on a channel (null when the channel is not in the schema). */
export function columnsOfChannel(channel: string): Set<string> | null {
  const cols = known.get(channel);
  return cols ? new Set(cols.keys()) : null;
}

// What to_jsonb makes of a timestamptz in a UTC session: read by slicing, not by Date.
const PG_UTC = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00:00$/;

/** A timestamp as the API prints it (`toISOString()`: UTC, milliseconds cut, not rounded). */
export function isoTimestamp(value: string): string {
  const m = PG_UTC.exec(value);
  if (!m) {
    // Another offset (a session in another time zone), or infinity, which stays as it is.
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? value : d.toISOString();
  }
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

export function toApiRow(channel: string, row: DbRow | null): ApiRow | null {
  if (!row) return null;
  const cols = known.get(channel);
  const out: ApiRow = {};
  for (const name in row) {
    const value = row[name];
    const col = cols?.get(name);
    const key = col?.key ?? toCamelCase(name);
    out[key] = col?.timestamp && typeof value === 'string' ? isoTimestamp(value) : value;
  }
  return out;
}
