// CRUD for the five resources, each request as the signed-in user under row-level
// security (auth/as-user.ts): a row the user cannot see is a 404, a visible row they may
// not change a 403. Lists are read in one REPEATABLE READ snapshot together with their
// stream cursor (contract item 4); the outbox records the user as the actor.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, desc, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import { createSchemaFactory } from 'drizzle-zod';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { z } from 'zod';
import { CURSOR_SQL, encodeCursor } from '@realtime/gateway';
import { extractionJobs, extractionResults } from '@realtime/db/schema';
import { HttpError, notFound, parseInput } from './errors';
import { resources, type Resource } from './resources';
import { asUser } from './auth/as-user';
import { textLimits } from './limits/text';

const { createInsertSchema, createUpdateSchema } = createSchemaFactory({ coerce: { date: true } });
const uuid = z.string().uuid('must be a UUID');
const server = { id: true, createdAt: true, updatedAt: true } as const;

export interface RoutesOptions {
  db: NodePgDatabase;
}

/** The signed-in user; the auth hook has refused the request before a route runs without one. */
export function userOf(request: FastifyRequest) {
  if (!request.user) throw new HttpError(401, 'UNAUTHORIZED', 'sign in first (POST /api/auth/sign-in)');
  return request.user;
}

/** A change that touched nothing: 403 when the row is visible (so the role was short), 404 when not. */
export async function missingOrForbidden(tx: NodePgDatabase, table: Resource['table'], what: string, id: string, action: string): Promise<HttpError> {
  const [seen] = await tx.select({ id: table.id }).from(table).where(eq(table.id, id));
  if (!seen) return notFound(what, id);
  return new HttpError(403, 'FORBIDDEN', `you may not ${action} ${what} ${id}: ${what === 'project' ? 'only its owners may' : 'it needs the editor role in its project'}`);
}

function routesFor(app: FastifyInstance, opts: RoutesOptions, r: Resource): void {
  const { db } = opts;
  const table = r.table;
  const columns = getTableColumns(table);
  // Every text column at most TEXT_LIMIT characters, every json column at most JSON_LIMIT.
  const bounds = textLimits(table) as never;
  let insertSchema = (createInsertSchema(table, bounds) as unknown as z.ZodObject).omit(server).strict();
  // A result's project follows from its job (matchJobProject), so it may be left out.
  if (table === extractionResults) insertSchema = insertSchema.extend({ projectId: uuid.optional() });
  const updateSchema = (createUpdateSchema(table, bounds) as unknown as z.ZodObject).omit(server).strict();
  const listQuery = z
    .object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      // Deep offsets make Postgres walk every row before them: narrow the list instead.
      offset: z.coerce.number().int().min(0).max(100_000).default(0),
      ...Object.fromEntries(Object.keys(r.parents).map((k) => [k, uuid.optional()])),
    })
    .strict();
  const base = `/api/${r.path}`;
  const idOf = (request: FastifyRequest) => parseInput(z.object({ id: uuid }), request.params, 'path').id;

  const what = r.path.replace(/s$/, '').replace(/-/g, ' ');
  const write = <T>(request: FastifyRequest, fn: (tx: NodePgDatabase) => Promise<T>) => asUser(db, userOf(request), fn);

  app.get(base, async (request) => {
    const q = parseInput(listQuery, request.query, 'query') as { limit: number; offset: number } & Record<string, string | undefined>;
    const where: SQL[] = [];
    for (const [param, column] of Object.entries(r.parents)) if (q[param]) where.push(eq(column, q[param]));
    let head = { snapshot: '', head: null as string | null };
    return asUser(
      db,
      userOf(request),
      async (tx) => {
        const items = await tx
          .select()
          .from(table)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(table.createdAt), desc(table.id))
          .limit(q.limit + 1)
          .offset(q.offset);
        const more = items.length > q.limit;
        return {
          items: more ? items.slice(0, q.limit) : items,
          cursor: encodeCursor(Number(head.head ?? 0), head.snapshot),
          page: { limit: q.limit, offset: q.offset, nextOffset: more ? q.offset + q.limit : null },
        };
      },
      {
        isolationLevel: 'repeatable read',
        accessMode: 'read only',
        // The outbox is not the user's to read: its head is taken before SET ROLE, in the
        // same snapshot as the list.
        before: async (tx) => {
          head = (await tx.execute<{ snapshot: string; head: string | null }>(sql.raw(CURSOR_SQL))).rows[0]!;
        },
      },
    );
  });

  app.get(`${base}/:id`, async (request) => {
    const id = idOf(request);
    const [row] = await asUser(db, userOf(request), (tx) => tx.select().from(table).where(eq(table.id, id)), { accessMode: 'read only' });
    if (!row) throw notFound(what, id);
    return row;
  });

  app.post(base, async (request, reply) => {
    const body = parseInput(insertSchema, request.body ?? {}, 'body') as Record<string, unknown>;
    const row = await write(request, async (tx) => {
      if (table === extractionResults) await matchJobProject(tx, body);
      // No RETURNING: for a new project, the policy that lets its creator read it holds
      // only once the statement's trigger has made them its owner.
      const id = randomUUID();
      await tx.insert(table).values({ ...body, id } as never);
      const [created] = await tx.select().from(table).where(eq(table.id, id));
      return created;
    });
    return reply.code(201).send(row);
  });

  app.patch(`${base}/:id`, async (request) => {
    const id = idOf(request);
    const body = parseInput(updateSchema, request.body ?? {}, 'body') as Record<string, unknown>;
    if (Object.keys(body).length === 0) throw new HttpError(400, 'BAD_REQUEST', `invalid body: nothing to change; fields: ${Object.keys(columns).filter((c) => !(c in server)).join(', ')}`);
    const row = await write(request, async (tx) => {
      const [updated] = await tx
        .update(table)
        .set({ ...body, updatedAt: new Date() } as never)
        .where(eq(table.id, id))
        .returning();
      if (!updated) throw await missingOrForbidden(tx, table, what, id, 'change');
      return updated;
    });
    return row;
  });

  app.delete(`${base}/:id`, async (request, reply) => {
    const id = idOf(request);
    await write(request, async (tx) => {
      const deleted = await tx.delete(table).where(eq(table.id, id)).returning({ id: table.id });
      if (deleted.length === 0) throw await missingOrForbidden(tx, table, what, id, 'delete');
    });
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
}
