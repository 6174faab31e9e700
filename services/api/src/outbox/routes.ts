// The outbox for operators over HTTP: the same queries as `npm run outbox`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { loadStreamedTables } from '@realtime/db';
import type { Logger } from '@realtime/runtime';
import { parseInput } from '../errors';
import { historyRows, listRows, stats } from './commands';
import { parseDuration } from './parse';

/** A page holds at most this many changes, and at most `pageBytes` (OUTBOX_PAGE_BYTES) of their row images. */
export const OUTBOX_PAGE_ROWS = 500;

const when = z
  .string()
  .transform((v, ctx) => {
    let d: Date;
    try {
      d = /^\d+\s*[smhdw]$/.test(v) ? new Date(Date.now() - parseDuration(v)) : new Date(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
    // Postgres takes years 4713 BC to 294276 AD; a person means something in between.
    if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1900 || d.getUTCFullYear() > 9999) {
      ctx.addIssue({ code: 'custom', message: 'a duration (1h, 30d, at most 100 years) or an ISO time between the years 1900 and 9999' });
      return z.NEVER;
    }
    return d;
  })
  .optional();

const listQuery = z
  .object({
    table: z.string().max(63).optional(),
    op: z.enum(['INSERT', 'UPDATE', 'DELETE']).optional(),
    rowId: z.string().max(200).optional(),
    actor: z.string().max(200).optional(),
    fromSeq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    toSeq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    since: when,
    until: when,
    limit: z.coerce.number().int().min(1).max(OUTBOX_PAGE_ROWS).default(50),
    // A keyset position (the previous page's `page.next`): pages hold still as changes arrive.
    before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    offset: z.never({ message: 'offset is no longer supported: page with before=<page.next>' }).optional(),
  })
  .strict();

/** Most changes one history answer holds (the latest ones); `npm run outbox -- history` prints all. */
export const HISTORY_LATEST = 500;

const historyParams = z
  .object({
    table: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a table name (lower case letters, digits and _)'),
    id: z.string().min(1).max(100),
  })
  .strict();

/** What an operator read of the outbox's row images leaves in the log (the audit of the audit). */
export interface RowImagesRead {
  operator: { id: string; email: string };
  route: string;
  query: Record<string, unknown>;
  changes: number;
}

export function registerOutboxRoutes(
  app: FastifyInstance,
  opts: { pool: pg.Pool; gatewayUrls: string[]; lagWarnBytes: number; backlogWarnSeconds: number; pageBytes: number; log: Pick<Logger, 'info'> },
): void {
  // Operators see every project's rows here (the images are what an audit reads): who read
  // which, and when, is logged at info whatever the HTTP log's level.
  const audited = (request: FastifyRequest, query: Record<string, unknown>, changes: number) => {
    const read: RowImagesRead = { operator: { id: request.user!.id, email: request.user!.email }, route: request.routeOptions.url ?? request.url, query, changes };
    opts.log.info({ audit: 'outbox-read', requestId: request.id, ...read }, 'an operator read row images from the outbox');
  };
  app.get('/api/outbox', async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    // Fewer than `limit` with a next: the page reached its byte budget.
    const { items, next, total, totalCapped } = await listRows(opts.pool, q, opts.pageBytes);
    audited(request, q, items.length);
    return { items, page: { limit: q.limit, next, total, totalCapped } };
  });
  app.get('/api/outbox/stats', async () => stats(opts.pool, opts));
  // The catalog's, so that a table enabled by a migration is offered without a redeploy.
  app.get('/api/outbox/tables', async () => ({ tables: [...(await loadStreamedTables(opts.pool)).keys()].sort() }));
  app.get('/api/outbox/history/:table/:id', async (request) => {
    const { table, id } = parseInput(historyParams, request.params, 'path');
    // One answer, so a bounded one: a row changed a million times gives its latest changes.
    const changes = await historyRows(opts.pool, table, id, HISTORY_LATEST + 1);
    const truncated = changes.length > HISTORY_LATEST;
    audited(request, { table, id }, truncated ? HISTORY_LATEST : changes.length);
    return { table, id, changes: truncated ? changes.slice(1) : changes, truncated };
  });
}
