// A list's query string, read before anything reaches the database: `limit`, `orderBy`,
// `after` (the opaque `page.next` of the page before) and equality filters by field, each
// value parsed by its column's type. Every refusal names the parameter and the fix.
// Pure: the route turns a ListParamError into a 400.
import type { ListOrder } from '@realtime/protocol';
import { TEXT_LIMIT } from '../limits/text';
import type { ListColumn, ListSpec, ValueKind } from './spec';

export class ListParamError extends Error {
  constructor(
    readonly param: string,
    readonly why: string,
  ) {
    super(`${param}: ${why}`);
  }
}

/** A value as SQL receives it: text in the column type's own form (cast there), or a boolean. */
export type ListValue = string | boolean;

export type Parsed = { ok: true; value: ListValue } | { ok: false; message: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^-?\d{1,20}$/;
const DECIMAL = /^-?\d{1,131072}(\.\d{1,16383})?$/;
const REAL = /^-?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i;
const ISO_MS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?Z$/;
const RANGES: Partial<Record<ValueKind, [bigint, bigint]>> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

/**
 * A timestamp as the API prints it (`2026-12-07T11:00:00.123Z`), as the text SQL reads as
 * a timestamp in UTC (`2026-12-07 11:00:00.123`), or null when it is no such time.
 */
export function parseIsoMs(text: string): string | null {
  const m = ISO_MS.exec(text);
  if (!m) return null;
  const ms = Date.parse(text);
  // Date.parse rolls 2026-02-30 over to March: a time that prints back differently is not one.
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 19) !== text.slice(0, 19)) return null;
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

/** The SQL form of a timestamp sort value back as the API prints it. */
export const isoOfSqlTime = (text: string): string => `${text.replace(' ', 'T')}Z`;

/** A query string value (or a sort value from `after`) parsed by a column's kind. */
export function parseValue(c: Pick<ListColumn, 'kind' | 'values'>, raw: unknown): Parsed {
  const bad = (message: string): Parsed => ({ ok: false, message });
  if (c.kind === 'unfilterable') return bad('this column cannot be compared (json, array or another type without equality in a query string)');
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && RANGES[c.kind]) raw = String(raw);
  if (typeof raw !== 'string') return bad('must be a single value');
  switch (c.kind) {
    case 'uuid':
      return UUID.test(raw) ? { ok: true, value: raw.toLowerCase() } : bad('must be a UUID');
    case 'text':
      if (c.values && !c.values.includes(raw)) return bad(`must be one of ${c.values.join(', ')}`);
      return raw.length <= TEXT_LIMIT ? { ok: true, value: raw } : bad(`at most ${TEXT_LIMIT} characters`);
    case 'smallint':
    case 'integer':
    case 'bigint': {
      const [lo, hi] = RANGES[c.kind]!;
      if (!INTEGER.test(raw) || BigInt(raw) < lo || BigInt(raw) > hi) return bad(`must be a whole number from ${lo} to ${hi}`);
      return { ok: true, value: BigInt(raw).toString() };
    }
    case 'numeric':
      return DECIMAL.test(raw) ? { ok: true, value: raw } : bad('must be a decimal number such as 12.50');
    case 'real':
      return REAL.test(raw) && Number.isFinite(Number(raw)) ? { ok: true, value: raw } : bad('must be a number such as 0.75');
    case 'boolean':
      return raw === 'true' || raw === 'false' ? { ok: true, value: raw === 'true' } : bad('must be true or false');
    case 'timestamp': {
      const t = parseIsoMs(raw);
      return t ? { ok: true, value: t } : bad('must be a time as the API prints it, e.g. 2026-12-07T11:00:00.123Z (UTC, at most milliseconds)');
    }
  }
}

/** `orderBy` as the client writes it: `-createdAt`, `id`. */
export const orderParam = (o: { by: string; desc: boolean }) => `${o.desc ? '-' : ''}${o.by}`;

/** The `orderBy` parameter: a field the spec may order by, `-` for descending; the default when absent. */
export function parseOrderBy(spec: ListSpec, raw: unknown): ListOrder {
  const choices = () => spec.orderable.flatMap((f) => [`-${f}`, f]).join(', ');
  if (raw === undefined) return { ...spec.defaultOrder, key: spec.key.field };
  if (typeof raw !== 'string') throw new ListParamError('orderBy', `give it once, one of ${choices()}`);
  const desc = raw.startsWith('-');
  const by = desc ? raw.slice(1) : raw;
  if (!spec.orderable.includes(by)) {
    const c = spec.columns.get(by);
    const why = !c
      ? `${spec.path} rows have no field "${by}"`
      : `${spec.path} cannot be paged by ${by} (${c.notNull ? 'no index serves that order' : 'it can be null'})`;
    throw new ListParamError('orderBy', `${why}; use one of ${choices()}`);
  }
  return { by, desc, key: spec.key.field };
}

/** A position in a list: the last row's sort value as the server compares it, and its key. */
export interface After {
  /** For a timestamp, the SQL form (`2026-12-07 11:00:00.123`). */
  value: ListValue;
  key: ListValue;
}

interface AfterJson {
  o: string;
  v: unknown;
  k: unknown;
}

/** `page.next`: base64url JSON of the order (as orderBy writes it), the sort value (timestamps as the API prints them) and the key. */
export function encodeAfter(order: ListOrder, spec: ListSpec, at: { value: ListValue; key: ListValue }): string {
  const sort = spec.columns.get(order.by)!;
  const v = sort.kind === 'timestamp' ? isoOfSqlTime(String(at.value)) : at.value;
  return Buffer.from(JSON.stringify({ o: orderParam(order), v, k: at.key } satisfies AfterJson)).toString('base64url');
}

/** The `after` parameter, checked against the list's order: a page.next of another order, or one altered, is refused. */
export function decodeAfter(spec: ListSpec, order: ListOrder, raw: unknown): After | null {
  if (raw === undefined) return null;
  const fix = 'pass page.next of the previous page as it came, with the same orderBy, or leave after out for the first page';
  if (typeof raw !== 'string' || !/^[A-Za-z0-9_-]{1,4000}$/.test(raw)) throw new ListParamError('after', `not a page.next of this list; ${fix}`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new ListParamError('after', `not a page.next of this list (not base64url JSON); ${fix}`);
  }
  const a = json as Partial<AfterJson> | null;
  if (!a || typeof a !== 'object' || Array.isArray(a) || Object.keys(a).sort().join(',') !== 'k,o,v' || typeof a.o !== 'string') {
    throw new ListParamError('after', `not a page.next of this list; ${fix}`);
  }
  if (a.o !== orderParam(order)) throw new ListParamError('after', `it continues a list ordered by ${a.o}, not ${orderParam(order)}: send orderBy=${a.o} with it, or leave after out to start over`);
  const sort = spec.columns.get(order.by)!;
  const value = parseValue(sort, a.v);
  const key = parseValue(spec.key, a.k);
  if (!value.ok || !key.ok || (order.by === spec.key.field && a.v !== a.k)) throw new ListParamError('after', `its position is not a ${order.by} and a ${spec.key.field} of this list; ${fix}`);
  return { value: value.value, key: key.value };
}

export interface Filter {
  column: ListColumn;
  value: ListValue;
}

export interface ListRequest {
  limit: number;
  order: ListOrder;
  after: After | null;
  filters: Filter[];
}

export const MAX_LIMIT = 500;
export const DEFAULT_LIMIT = 50;

/** The whole query string of a list. */
export function parseListQuery(spec: ListSpec, query: Record<string, unknown>): ListRequest {
  if (Object.hasOwn(query, 'offset')) throw new ListParamError('offset', 'offset is no longer supported: page with after=<page.next>');
  const allowed = ['limit', 'orderBy', 'after', ...[...spec.columns.values()].filter((c) => c.kind !== 'unfilterable').map((c) => c.field)];
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const filters = allowed.slice(3).join(', ');
    if (spec.columns.has(unknown[0]!)) throw new ListParamError(unknown[0]!, `cannot be filtered by (a json, array or other column without equality in a query string); filter by ${filters}`);
    throw new ListParamError(unknown[0]!, `not a parameter of ${spec.path} lists; use ${allowed.join(', ')}`);
  }
  let limit = DEFAULT_LIMIT;
  if (query.limit !== undefined) {
    const raw = query.limit;
    if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT) throw new ListParamError('limit', `must be a whole number from 1 to ${MAX_LIMIT}`);
    limit = Number(raw);
  }
  const order = parseOrderBy(spec, query.orderBy);
  const after = decodeAfter(spec, order, query.after);
  const filters: Filter[] = [];
  for (const [field, raw] of Object.entries(query)) {
    const column = spec.columns.get(field);
    if (!column || field === 'limit' || field === 'orderBy' || field === 'after') continue;
    const parsed = parseValue(column, raw);
    if (!parsed.ok) throw new ListParamError(field, Array.isArray(raw) ? `give ${field} once (filters are equalities)` : parsed.message);
    filters.push({ column, value: parsed.value });
  }
  return { limit, order, after, filters };
}
