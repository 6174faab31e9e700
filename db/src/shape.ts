// The one row shape clients see, whichever way a row reaches them: the HTTP API reads
// and the capture trigger records `to_jsonb(row)` with the numeric and int8 columns the
// trigger's arguments list as text (migration 0015, realtime_row_json in SQL), and both
// go through shapeRow, so a row fetched and the same row streamed are equal by
// construction rather than by two conversions kept in step.
import { toCamelCase } from 'drizzle-orm/casing';
import type { CatalogColumn } from './catalog';

export type JsonRow = Record<string, unknown>;

/** What shapeRow needs of a table: its columns and their types (the catalog's StreamedTable has them). */
export interface ShapeTable {
  columns: readonly CatalogColumn[];
}

type Conversion = 'timestamptz' | 'timestamp' | 'string' | null;
interface Plan {
  key: string;
  convert: Conversion;
  /** numeric(p,s)'s s: what a JSON number of it is padded to. */
  scale: number | null;
}

/** By format_type's spelling; a type not listed passes as to_jsonb made it. */
export function conversionOf(type: string): Conversion {
  const base = type.replace(/\(\d+(,\d+)?\)/, '');
  if (base.endsWith('[]')) return null;
  if (base === 'timestamp with time zone') return 'timestamptz';
  if (base === 'timestamp without time zone') return 'timestamp';
  // Beyond 2^53 an int8 as a JSON number is no longer exact, and numeric never was a
  // float: strings in the column's own text form, as the capture trigger and the API's
  // reads give them since migration 0015 (realtime_row_json).
  if (base === 'bigint' || base === 'numeric') return 'string';
  return null;
}

/** numeric(p,s)'s scale; null for any other type. */
export function scaleOf(type: string): number | null {
  const m = /^numeric\((\d+)(?:,(\d+))?\)$/.exec(type);
  return m ? Number(m[2] ?? 0) : null;
}

/**
 * A numeric the outbox recorded as a JSON number (a change captured before migration
 * 0015) in its column's text form as far as a double still knows it: 10 of a
 * numeric(12,2) is "10.00", as the column prints it.
 */
export function numericText(value: number, scale: number | null): string {
  const text = String(value);
  if (scale === null || scale === 0 || !/^-?\d+(\.\d+)?$/.test(text)) return text;
  const [whole, fraction = ''] = text.split('.');
  return fraction.length >= scale ? text : `${whole}.${fraction.padEnd(scale, '0')}`;
}

// Plans are per table object: a catalog re-read makes new objects, and the old ones go.
const plans = new WeakMap<ShapeTable, Map<string, Plan>>();

function planOf(table: ShapeTable): Map<string, Plan> {
  let plan = plans.get(table);
  if (!plan) {
    plan = new Map(table.columns.map((c) => [c.name, { key: toCamelCase(c.name), convert: conversionOf(c.type), scale: scaleOf(c.type) }]));
    plans.set(table, plan);
  }
  return plan;
}

// What to_jsonb makes of a timestamp: ISO date and time, up to microseconds, then the
// session's offset (timestamptz) or nothing (timestamp). An offset may carry seconds
// (historic local mean times).
const PG_TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?$/;

const PG_UTC = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00:00$/;

/**
 * A timestamp as the API prints it, `Date.toISOString()`: UTC, milliseconds cut (not
 * rounded), whatever TimeZone the writing session had. Without an offset (a column
 * without time zone) it is read as UTC, as drizzle reads it. infinity, -infinity and BC
 * dates stay as they are.
 */
export function isoTimestamp(value: string): string {
  // The common case (a UTC session) by slicing: a streamed change is shaped once, but a
  // busy table makes many.
  const utc = PG_UTC.exec(value);
  if (utc) return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  const m = PG_TIMESTAMP.exec(value);
  if (!m) return value;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number((frac ?? '').padEnd(3, '0').slice(0, 3)));
  // Date.UTC maps years 0-99 to 1900-1999.
  if (Number(y) < 100) ms = new Date(ms).setUTCFullYear(Number(y));
  if (sign) ms -= (sign === '-' ? -1 : 1) * ((Number(oh) * 60 + Number(om ?? 0)) * 60 + Number(os ?? 0)) * 1000;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

function convert(value: unknown, how: Conversion, scale: number | null): unknown {
  if (how === null || value === null || value === undefined) return value;
  if (how === 'string') return typeof value === 'number' ? numericText(value, scale) : value;
  return typeof value === 'string' ? isoTimestamp(value) : value;
}

/**
 * A row as `to_jsonb` makes it (column names, Postgres's text formats) in the shape the
 * HTTP API returns: camelCase keys (drizzle's toCamelCase, the inverse of the schema's
 * `casing: 'snake_case'`), timestamps as ISO strings in UTC, int8 and numeric as strings
 * (as the row brings them: realtime_row_json makes them the column's own text),
 * everything else as it is. A column the table does not list (added since the catalog
 * was read) keeps its value under its camelCase key.
 */
export function shapeRow(table: ShapeTable, row: JsonRow): JsonRow;
export function shapeRow(table: ShapeTable, row: JsonRow | null): JsonRow | null;
export function shapeRow(table: ShapeTable, row: JsonRow | null): JsonRow | null {
  if (!row) return null;
  const plan = planOf(table);
  const out: JsonRow = {};
  for (const name in row) {
    const p = plan.get(name);
    out[p ? p.key : toCamelCase(name)] = p ? convert(row[name], p.convert, p.scale) : row[name];
  }
  return out;
}
