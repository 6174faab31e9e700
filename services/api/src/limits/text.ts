// Bounds on what one field of a request body may hold: a text column at most TEXT_LIMIT
// characters, a jsonb column at most JSON_LIMIT characters once serialized. Postgres
// takes 1 GB in a text column; the stream, every cache and every page would carry it.
import { getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { z } from 'zod';
import { JSON_DEPTH_LIMIT, measureJson } from '@realtime/db';

export const TEXT_LIMIT = 10_000;
export const JSON_LIMIT = 10_000;

/**
 * The size a JSON value takes on the wire and in the outbox (characters of its text),
 * measured without recursion; past `stopAt` the count stops (the value is too big anyway).
 */
export function jsonSize(value: unknown, stopAt = Number.POSITIVE_INFINITY): number {
  return measureJson(value, { size: stopAt, depth: Number.POSITIVE_INFINITY }).size;
}

type Refine = (schema: z.ZodType) => z.ZodType;

/**
 * drizzle-zod refinements that bound every unbounded text column (not an enum, not a
 * varchar with its own length, not a uuid) and every json column of `table`. Passed to
 * createInsertSchema/createUpdateSchema, so a new column is bounded without a line here.
 */
export function textLimits(table: PgTable, limits = { text: TEXT_LIMIT, json: JSON_LIMIT }): Record<string, Refine> {
  const out: Record<string, Refine> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const enumValues = (column as { enumValues?: unknown[] }).enumValues;
    if (column.columnType === 'PgText' && !enumValues?.length) {
      out[key] = (s) => (s as z.ZodString).max(limits.text, `at most ${limits.text} characters`);
    } else if (column.dataType === 'json') {
      out[key] = (s) =>
        s.superRefine((v, ctx) => {
          const m = measureJson(v, { size: limits.json, depth: JSON_DEPTH_LIMIT });
          if (m.over === 'size') ctx.addIssue({ code: 'custom', message: `at most ${limits.json} characters as JSON` });
          else if (m.over === 'depth') ctx.addIssue({ code: 'custom', message: `nested at most ${JSON_DEPTH_LIMIT} levels deep` });
        });
    }
  }
  return out;
}
