// CRUD for the five resources. Lists are read in one REPEATABLE READ snapshot together
// with their stream cursor (contract item 4); writes run with app.actor set to the
// caller, so the outbox records who changed what.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, desc, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import { createSchemaFactory } from 'drizzle-zod';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { z } from 'zod';
import { encodeCursor, signToken } from '@realtime/gateway';
import { extractionJobs, extractionResults } from '@realtime/db/schema';
import { HttpError, notFound, zodToBody } from './errors';
import { resources, type Resource } from './resources';

const { createInsertSchema, createUpdateSchema } = createSchemaFactory({ coerce: { date: true } });
const uuid = z.string().uuid('must be a UUID');
const server = { id: true, createdAt: true, updatedAt: true } as const;

export interface RoutesOptions {
  db: NodePgDatabase;
  jwtSecret: Uint8Array;
}

/** The caller, for app.actor: the X-Actor header (an auth layer would set it), or "anonymous". */
export function actorOf(request: FastifyRequest): string {
  const raw = request.headers['x-actor'];
  const actor = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!actor) return 'anonymous';
  if (actor.length > 200) throw new HttpError(400, 'BAD_REQUEST', 'X-Actor: at most 200 characters');
  return actor;
}

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const body = zodToBody(r.error, where);
    throw new HttpError(400, 'BAD_REQUEST', body.error.message);
  }
  return r.data;
}

function routesFor(app: FastifyInstance, opts: RoutesOptions, r: Resource): void {
  const { db } = opts;
  const table = r.table;
  const columns = getTableColumns(table);
  let insertSchema = (createInsertSchema(table) as unknown as z.ZodObject).omit(server).strict();
  // A result's project follows from its job (matchJobProject), so it may be left out.
  if (table === extractionResults) insertSchema = insertSchema.extend({ projectId: uuid.optional() });
  const updateSchema = (createUpdateSchema(table) as unknown as z.ZodObject).omit(server).strict();
  const listQuery = z
    .object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      offset: z.coerce.number().int().min(0).default(0),
      ...Object.fromEntries(Object.keys(r.parents).map((k) => [k, uuid.optional()])),
    })
    .strict();
  const base = `/api/${r.path}`;
  const idOf = (request: FastifyRequest) => parse(z.object({ id: uuid }), request.params, 'path').id;

  const write = <T>(request: FastifyRequest, fn: (tx: NodePgDatabase) => Promise<T>) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.actor', ${actorOf(request)}, true)`);
      return fn(tx as unknown as NodePgDatabase);
    });

  app.get(base, async (request) => {
    const q = parse(listQuery, request.query, 'query') as { limit: number; offset: number } & Record<string, string | undefined>;
    const where: SQL[] = [];
    for (const [param, column] of Object.entries(r.parents)) if (q[param]) where.push(eq(column, q[param]));
    return db.transaction(
      async (tx) => {
        const cursorRow = await tx.execute<{ snapshot: string; head: string | null }>(
          sql`select pg_current_snapshot()::text as snapshot, (select max(seq) from change_outbox) as head`,
        );
        const items = await tx
          .select()
          .from(table)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(table.createdAt), desc(table.id))
          .limit(q.limit + 1)
          .offset(q.offset);
        const more = items.length > q.limit;
        const head = cursorRow.rows[0]!;
        return {
          items: more ? items.slice(0, q.limit) : items,
          cursor: encodeCursor(Number(head.head ?? 0), head.snapshot),
          page: { limit: q.limit, offset: q.offset, nextOffset: more ? q.offset + q.limit : null },
        };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  });

  app.get(`${base}/:id`, async (request) => {
    const id = idOf(request);
    const [row] = await db.select().from(table).where(eq(table.id, id));
    if (!row) throw notFound(r.path.replace(/s$/, ''), id);
    return row;
  });

  app.post(base, async (request, reply) => {
    const body = parse(insertSchema, request.body ?? {}, 'body') as Record<string, unknown>;
    const row = await write(request, async (tx) => {
      if (table === extractionResults) await matchJobProject(tx, body);
      const [created] = await tx.insert(table).values(body as never).returning();
      return created;
    });
    return reply.code(201).send(row);
  });

  app.patch(`${base}/:id`, async (request) => {
    const id = idOf(request);
    const body = parse(updateSchema, request.body ?? {}, 'body') as Record<string, unknown>;
    if (Object.keys(body).length === 0) throw new HttpError(400, 'BAD_REQUEST', `invalid body: nothing to change; fields: ${Object.keys(columns).filter((c) => !(c in server)).join(', ')}`);
    const row = await write(request, async (tx) => {
      const [updated] = await tx
        .update(table)
        .set({ ...body, updatedAt: new Date() } as never)
        .where(eq(table.id, id))
        .returning();
      return updated;
    });
    if (!row) throw notFound(r.path.replace(/s$/, ''), id);
    return row;
  });

  app.delete(`${base}/:id`, async (request, reply) => {
    const id = idOf(request);
    const deleted = await write(request, (tx) => tx.delete(table).where(eq(table.id, id)).returning({ id: table.id }));
    if (deleted.length === 0) throw notFound(r.path.replace(/s$/, ''), id);
    return reply.code(204).send();
  });
}

/** A result belongs to its job's project: filled in when missing, refused when it disagrees. */
async function matchJobProject(tx: NodePgDatabase, body: Record<string, unknown>): Promise<void> {
  const [job] = await tx.select({ projectId: extractionJobs.projectId }).from(extractionJobs).where(eq(extractionJobs.id, String(body.jobId)));
  if (!job) throw new HttpError(400, 'BAD_REQUEST', `jobId: no extraction_jobs row with id ${String(body.jobId)}`);
  if (body.projectId === undefined) body.projectId = job.projectId;
  else if (body.projectId !== job.projectId) throw new HttpError(400, 'BAD_REQUEST', `projectId: the job belongs to project ${job.projectId}`);
}

export function registerRoutes(app: FastifyInstance, opts: RoutesOptions): void {
  for (const r of resources) routesFor(app, opts, r);
  // The realtime token for the caller's grant. Without an auth layer every caller may
  // see everything; an auth layer narrows `projects` to the caller's.
  app.get('/api/realtime/token', async (request) => {
    const ttlSeconds = 3600;
    const token = await signToken(opts.jwtSecret, { channels: ['*'], projects: ['*'] }, { subject: actorOf(request), ttlSeconds });
    return { token, expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString() };
  });
}
